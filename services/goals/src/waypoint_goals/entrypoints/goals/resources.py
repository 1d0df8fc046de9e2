"""The goals resource: propose a goal, read a goal."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_goals.entrypoints.goals.schemas import AsOfSchema, GoalSchema, ProposalSchema
from waypoint_goals.service_layer import handlers
from waypoint_shared.auth import principal, requires
from waypoint_shared.commands import Reply, execute, written
from waypoint_shared.database import read
from waypoint_shared.runtime import request_metadata

blp = Blueprint("goals", __name__, url_prefix="/v1", description="Collaborative goals")


def _container() -> Any:
    return current_app.extensions["waypoint"]


@blp.route("/clients/<uuid:client_id>/goals", methods=["POST"])
@blp.arguments(ProposalSchema)
@blp.response(201, GoalSchema)
@requires("goals:write")
def propose_goal(proposal: dict[str, Any], client_id: Any) -> Response:
    """Propose a goal"""
    container = _container()
    target_date = proposal.get("target_date")
    details = {**proposal, "target_date": target_date.isoformat() if target_date else None}
    tenant = principal().tenant
    metadata = request_metadata(acting=proposal["proposed_by"])

    def work(conn: Connection) -> Reply:
        event = handlers.propose_goal(
            container.goals, conn, tenant, str(client_id), details, metadata
        )
        body = GoalSchema().dump(
            {
                **details,
                "goal_id": event.stream_id,
                "client_id": event.client_id,
                "lifecycle_status": "proposed",
                "version": event.stream_version,
            }
        )
        return written(201, body, event.stream_version, f"/v1/goals/{event.stream_id}")

    return execute(container.engine, work)


@blp.route("/goals/<uuid:goal_id>", methods=["GET"])
@blp.arguments(AsOfSchema, location="query")
@blp.response(200, GoalSchema)
@requires("goals:read")
def get_goal(query: dict[str, Any], goal_id: Any) -> Response:
    """Read a goal (optionally as it was at `as_of`)"""
    container = _container()
    with read(container.engine) as conn:
        goal = handlers.load_goal(
            container.goals, conn, principal().tenant, str(goal_id), query.get("as_of")
        )
    body = GoalSchema().dump(
        {
            **goal.details,
            "goal_id": goal.goal_id,
            "client_id": goal.client_id,
            "lifecycle_status": goal.lifecycle_status,
            "version": goal.version,
        }
    )
    return Reply(200, body, {"ETag": f'"{goal.version}"'}).to_response()
