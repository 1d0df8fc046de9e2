"""The therapist roster: register, list, read and update therapists."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.domain.therapist import Therapist
from waypoint_intake.entrypoints.clients.commands import read_route
from waypoint_intake.entrypoints.common import container, documents_problems, states_body
from waypoint_intake.entrypoints.therapists.schemas import (
    PageQuerySchema,
    TherapistPageSchema,
    TherapistProfileSchema,
    TherapistSchema,
    therapist_update,
)
from waypoint_intake.service_layer import roster
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.runtime import request_metadata

blp = Blueprint("therapists", __name__, url_prefix="/v1/therapists", description="Roster")


def therapist_body(therapist: Therapist) -> dict[str, Any]:
    body: dict[str, Any] = TherapistSchema().dump(
        {
            **therapist.profile,
            "therapist_id": therapist.therapist_id,
            "caseload": len(therapist.caseload),
            "free_places": therapist.free_places,
            "version": therapist.version,
        }
    )
    return body


@blp.route("", methods=["POST"])
@blp.arguments(TherapistProfileSchema())
@blp.response(201, TherapistSchema)
@documents_problems(blp, 422)
@requires("intake:write")
def register_therapist(profile: dict[str, Any]) -> Response:
    """Register a therapist on the roster"""
    app, tenant = container(), principal().tenant
    expected_version_from_if_match()  # nothing to match yet, but a malformed one is a 400
    metadata = request_metadata(acting=profile.pop("recorded_by"))

    def work(conn: Connection) -> Reply:
        therapist = roster.register_therapist(app.intake, conn, tenant, profile, metadata)
        location = f"/v1/therapists/{therapist.therapist_id}"
        body = therapist_body(therapist)
        return written(201, body, therapist.version, location, subject=None)  # no client

    return execute(app.engine, work)


@read_route(blp, "", TherapistPageSchema, (422,), PageQuerySchema())
def list_therapists(query: dict[str, Any]) -> dict[str, Any]:
    """List the roster, in the order therapists were registered"""
    app = container()
    with read(app.engine) as conn:
        therapists, next_cursor = roster.therapists_page(
            app.intake, conn, principal().tenant, query.get("cursor"), query["limit"]
        )
    return {"items": [therapist_body(t) for t in therapists], "next_cursor": next_cursor}


@read_route(blp, "/<uuid:therapist_id>", TherapistSchema, (404,))
def get_therapist(therapist_id: Any) -> Response:
    """Read a therapist"""
    app = container()
    with read(app.engine) as conn:
        therapist = roster.load_therapist(app.intake, conn, principal().tenant, str(therapist_id))
    return Reply(200, therapist_body(therapist), {"ETag": f'"{therapist.version}"'}).to_response()


@blp.route("/<uuid:therapist_id>", methods=["PATCH"])
@blp.arguments(therapist_update())
@blp.response(200, TherapistSchema)
@documents_problems(blp, 404, 409, 412, 422)
@states_body(blp, therapist_update(), minProperties=2)  # recorded_by and a field to change
@requires("intake:write")
def update_therapist(updates: dict[str, Any], therapist_id: Any) -> Response:
    """Update a therapist's profile, capacity or whether they accept clients"""
    app, tenant = container(), principal().tenant
    metadata = request_metadata(acting=updates.pop("recorded_by"))
    expected = expected_version_from_if_match()

    def work(conn: Connection) -> Reply:
        therapist = roster.update_therapist(
            app.intake, conn, tenant, str(therapist_id), updates, metadata, expected
        )
        return written(200, therapist_body(therapist), therapist.version, subject=None)

    return execute(app.engine, work)
