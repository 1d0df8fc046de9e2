"""The suite's FHIR definitions as every service's FHIR base serves them: each CodeSystem of the
suite's local codes at `GET /fhir/CodeSystem/{id}` and found by canonical URL with
`GET /fhir/CodeSystem?url=<canonical>` (intake adds its Questionnaires the same way, with
`serve`). Any service's read scope may read them: they hold no one's data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields

from waypoint_shared.catalog import fhir_definitions
from waypoint_shared.http import fhir
from waypoint_shared.http.auth import requires
from waypoint_shared.http.openapi import fhir_answer
from waypoint_shared.http.problems import FHIR_JSON, Problem
from waypoint_shared.http.web import public_url, public_url_of_request

READ_SCOPES = ("intake:read", "goals:read", "progress:read")
Definitions = Callable[[], list[dict[str, Any]]]


URL_PARAMETER = {
    "name": "url",
    "type": "uri",
    "documentation": "The canonical URL (a `|version` suffix is matched too)",
}


class CanonicalSearchSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # FHIR search: a parameter the server does not know is ignored

    url = fields.String(
        metadata={"description": "the canonical URL (a `|version` suffix is matched too)"}
    )


def serve(
    blp: Blueprint, resource_type: str, definitions: Definitions, listed: fhir.Capabilities
) -> None:
    """Route a read by id and a search by canonical URL of one type of definition on `blp`,
    listed in the base's CapabilityStatement."""
    kind = resource_type.lower()
    listed.declare(resource_type, "read")
    listed.declare(resource_type, "search-type", URL_PARAMETER)

    def read(id: str) -> Response:
        found = [d for d in definitions() if d["id"] == id]
        if not found:
            raise Problem(404, "Not Found", f"No {resource_type} {id}.")
        return _fhir(found[0])

    def search(query: dict[str, Any]) -> Response:
        found = [d for d in definitions() if _matches(d, query.get("url"))]
        return _fhir(_searchset(found))

    read.__doc__ = f"Read one of the suite's {resource_type} resources"
    search.__doc__ = f"Search the suite's {resource_type} resources by canonical URL"
    blp.route(f"/{resource_type}/<id>", methods=["GET"], endpoint=f"read_{kind}")(
        blp.response(200, content_type=FHIR_JSON, description=f"A {resource_type}")(
            blp.doc(responses=fhir_answer(resource_type, f"A {resource_type}"))(
                requires(*READ_SCOPES)(read)
            )
        )
    )
    blp.route(f"/{resource_type}", methods=["GET"], endpoint=f"search_{kind}")(
        blp.arguments(CanonicalSearchSchema, location="query")(
            blp.response(200, content_type=FHIR_JSON, description="A searchset Bundle")(
                blp.doc(responses=fhir_answer("Bundle", f"A searchset Bundle of {kind}s"))(
                    requires(*READ_SCOPES)(search)
                )
            )
        )
    )


def _matches(definition: dict[str, Any], url: str | None) -> bool:
    if url is None:
        return True
    canonical, _, version = url.partition("|")
    return definition["url"] == canonical and version in ("", definition.get("version"))


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": public_url_of_request()}],
        "entry": [
            {
                "fullUrl": public_url(f"/fhir/{r['resourceType']}/{r['id']}"),
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _fhir(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype=FHIR_JSON)


blp = Blueprint(
    "fhir_definitions",
    __name__,
    url_prefix="/fhir",
    description="The suite's FHIR definitions (CodeSystems of its own codes)",
)
# What every base lists of `blp` in its CapabilityStatement (fhir.Capabilities.include).
capabilities = fhir.Capabilities("The suite's definitions", " or ".join(READ_SCOPES))
serve(blp, "CodeSystem", fhir_definitions.code_systems, capabilities)
