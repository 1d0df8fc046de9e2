"""What every intake blueprint shares: the container, client commands and replies, and the
documented problem responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from apispec.ext.marshmallow import resolver
from flask_smorest import Blueprint
from marshmallow import Schema

from waypoint_intake.bootstrap import Container
from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.client_schemas import ClientSchema
from waypoint_intake.service_layer.handlers import ClientCommand
from waypoint_shared.http.auth import principal
from waypoint_shared.http.idempotency import Reply, expected_version_from_if_match, written
from waypoint_shared.http.openapi import ProblemSchema
from waypoint_shared.http.problems import PROBLEM_JSON
from waypoint_shared.http.web import current_container
from waypoint_shared.runtime import request_metadata

F = TypeVar("F", bound=Callable[..., Any])
PROBLEMS = {
    404: "No such client or therapist for this tenant.",
    409: "The record's state does not allow this (the detail says why).",
    410: "The client was erased: nothing of theirs is kept or answered any more.",
    412: "If-Match names a version that is no longer current.",
    422: "The body is not valid, or a rule refuses it (errors by field).",
}


def documents_problems(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Add the listed problem responses to a view's OpenAPI operation."""

    def decorate(view: F) -> F:
        for status in statuses:
            view = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=PROBLEMS[status],
            )(view)
        return view

    return decorate


def states_body(
    blp: Blueprint, schema: Schema, one_of: list[dict[str, Any]] | None = None, **keywords: Any
) -> Callable[[F], F]:
    """Document a view's JSON body as its schema's fields plus what holds across them and no
    field can state, for the rules the view enforces on the whole: keywords such as
    `minProperties`, and `one_of`, the shapes of which the body takes one. Each shape is stated
    beside a reference to the schema, so a generated client's body stays the schema's model."""
    reference = {"$ref": f"#/components/schemas/{resolver(type(schema))}"}
    body: dict[str, Any] = {"allOf": [schema], **keywords}
    if one_of:
        body["oneOf"] = [{**reference, **shape} for shape in one_of]
    return blp.doc(requestBody={"content": {"application/json": {"schema": body}}})


def container() -> Container:
    return current_container(Container)


def client_command(client_id: Any, acting: dict[str, Any] | None) -> ClientCommand:
    """A command on a client's record by the caller, for the person acting, honouring If-Match."""
    return ClientCommand(
        principal().tenant,
        str(client_id),
        request_metadata(acting=acting),
        expected_version_from_if_match(),
    )


_CLIENT_SCHEMA = ClientSchema()  # one instance: building a schema costs more than a dump


def client_body(client: Client) -> dict[str, Any]:
    """The client as the API shows it."""
    body: dict[str, Any] = _CLIENT_SCHEMA.dump(
        {
            **client.details,
            "client_id": client.client_id,
            "status": client.status,
            "version": client.version,
            "in_active_care": client.in_active_care,
            "cultural_context": client.cultural_context,
            "consents": client.consents,
            "expectations": [
                {"topic": t, "acknowledged_by": a} for t, a in client.expectations.items()
            ],
            "screenings": client.screenings,
            "therapist_id": client.therapist_id,
            "discharge_reason": client.discharge_reason,
            "ending_reason": client.ending_reason,
            "discharged_on": client.discharged_on,
            "missing_requirements": client.missing_requirements(),
        }
    )
    return body


def client_written(client: Client) -> Reply:
    return written(200, client_body(client), client.version, subject=client.client_id)
