"""The suite's FHIR definitions as every service's FHIR base serves them: each CodeSystem of the
suite's local codes at `GET /fhir/CodeSystem/{id}` and found by canonical URL with
`GET /fhir/CodeSystem?url=<canonical>` (intake adds its Questionnaires the same way, with
`serve`). Any service's read scope may read them: they hold no one's data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from waypoint_shared.catalog import fhir_definitions
from waypoint_shared.http import fhir

READ_SCOPES = ("intake:read", "goals:read", "progress:read")
Definitions = Callable[[], list[dict[str, Any]]]


class CanonicalSearchSchema(fhir.SearchSchema):
    """A definition is found by its canonical URL (FHIR's shared parameters apply too)."""

    url = fields.String(
        validate=[
            validate.Length(max=256),
            validate.Regexp(fhir.TOKEN_PATTERN, error="Not a URL: printable ASCII, no spaces."),
        ],
        metadata={
            "description": "The canonical URL (a `|version` suffix is matched too)",
            "fhir_type": "uri",
        },
    )


def serve(
    blp: Blueprint, resource_type: str, definitions: Definitions, listed: fhir.Capabilities
) -> None:
    """Route a read by id and a search by canonical URL of one type of definition on `blp`,
    listed by `listed` (made with READ_SCOPES: they hold no one's data)."""
    kind = resource_type.lower()

    def read(id: str) -> Response:
        found = [d for d in definitions() if d["id"] == id]
        if not found:
            raise fhir.not_found(resource_type, id)
        return fhir.answer(found[0])

    def search(query: dict[str, Any]) -> Response:
        found = [d for d in definitions() if _matches(d, query.get("url"))]
        return fhir.answer(fhir.searchset(found, query))

    read.__doc__ = f"Read one of the suite's {resource_type} resources"
    search.__doc__ = f"Search the suite's {resource_type} resources by canonical URL"
    listed.read(blp, resource_type, "<id>", endpoint=f"read_{kind}")(read)
    listed.search(blp, resource_type, CanonicalSearchSchema, endpoint=f"search_{kind}")(search)


def _matches(definition: dict[str, Any], url: str | None) -> bool:
    if url is None:
        return True
    canonical, _, version = url.partition("|")
    return definition["url"] == canonical and version in ("", definition.get("version"))


blp = Blueprint(
    "fhir_definitions",
    __name__,
    url_prefix="/fhir",
    description="The suite's FHIR definitions (CodeSystems of its own codes)",
)
# What every base lists of `blp` in its CapabilityStatement (fhir.Capabilities.include).
capabilities = fhir.Capabilities("The suite's definitions", READ_SCOPES)
serve(blp, "CodeSystem", fhir_definitions.code_systems, capabilities)
