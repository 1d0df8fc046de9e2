"""Matching and assignment: ranked therapists for a client, and assigning one."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.entrypoints.assignment.schemas import (
    AssignmentSchema,
    MatchesQuerySchema,
    MatchesSchema,
)
from waypoint_intake.entrypoints.clients.commands import change_client, client_route, read_route
from waypoint_intake.entrypoints.common import container
from waypoint_intake.service_layer import roster
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal

blp = Blueprint("assignment", __name__, url_prefix="/v1/clients", description="Matching")


@read_route(blp, "/<uuid:client_id>/therapist-matches", MatchesSchema, (404,), MatchesQuerySchema)
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


@client_route(blp, "/<uuid:client_id>/therapist", AssignmentSchema(), method="PUT")
def assign_therapist(assignment: dict[str, Any], client_id: Any) -> Response:
    """Assign or reassign a client's therapist (409 when the therapist is at capacity)"""
    therapist_id = str(assignment["therapist_id"])
    return change_client(
        client_id, assignment["recorded_by"], roster.assign_therapist, therapist_id
    )
