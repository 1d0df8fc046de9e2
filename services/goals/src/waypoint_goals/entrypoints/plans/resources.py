"""A client's plan: all of the client's goals with their steps and statuses."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_goals.entrypoints.common import container, goal_view
from waypoint_goals.entrypoints.plans.schemas import PlanQuerySchema, PlanSchema
from waypoint_goals.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply

blp = Blueprint("plans", __name__, url_prefix="/v1/clients", description="A client's plan")


@blp.route("/<uuid:client_id>/plan", methods=["GET"])
@blp.arguments(PlanQuerySchema, location="query")
@blp.response(200, PlanSchema)
@blp.alt_response(404, description="goals has heard of no such client")
@requires("goals:read")
def get_plan(query: dict[str, Any], client_id: Any) -> Response:
    """Read a client's plan (optionally as it was at `as_of`), cursor-paginated by goal"""
    wired = container()
    with read(wired.engine) as conn:
        page = queries.client_plan(
            wired.goals,
            conn,
            principal().tenant,
            str(client_id),
            after=int(query.get("cursor", 0)),
            limit=query["limit"],
            as_of=query.get("as_of"),
        )
    body = {
        "client_id": client_id,
        "goals": [goal_view(goal) for goal in page.items],
        "next_cursor": page.next_cursor,
    }
    return Reply(200, PlanSchema().dump(body)).to_response()
