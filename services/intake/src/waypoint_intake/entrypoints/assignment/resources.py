"""Matching and assignment: ranked therapists for a client, and assigning one."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.assignment.schemas import (
    AssignmentSchema,
    MatchesQuerySchema,
    MatchesSchema,
)
from waypoint_intake.entrypoints.client_schemas import ClientSchema
from waypoint_intake.entrypoints.common import (
    client_command,
    client_written,
    container,
    documents_problems,
)
from waypoint_intake.service_layer import roster
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute

blp = Blueprint("assignment", __name__, url_prefix="/v1/clients", description="Matching")


@blp.route("/<uuid:client_id>/therapist-matches", methods=["GET"])
@blp.arguments(MatchesQuerySchema, location="query")
@blp.response(200, MatchesSchema)
@documents_problems(blp, 404)
@requires("intake:read")
def therapist_matches(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Rank the therapists who can take a client on, with a score and the reasons (the best
    `limit`)"""
    app = container()
    with read(app.engine) as conn:
        matches = roster.therapist_matches(app.intake, conn, principal().tenant, str(client_id))
    return {
        "client_id": client_id,
        "matches": [
            {
                "therapist_id": m.candidate.therapist_id,
                "name": m.candidate.name,
                "score": m.score,
                "free_places": m.candidate.free_places,
                "reasons": [vars(r) for r in m.reasons],
            }
            for m in matches[: query["limit"]]
        ],
    }


@blp.route("/<uuid:client_id>/therapist", methods=["PUT"])
@blp.arguments(AssignmentSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def assign_therapist(assignment: dict[str, Any], client_id: Any) -> Response:
    """Assign or reassign a client's therapist (409 when the therapist is at capacity)"""
    app, cmd = container(), client_command(client_id, assignment["recorded_by"])
    therapist_id = str(assignment["therapist_id"])

    def work(conn: Connection) -> Reply:
        return client_written(roster.assign_therapist(app.intake, conn, cmd, therapist_id))

    return execute(app.engine, work)
