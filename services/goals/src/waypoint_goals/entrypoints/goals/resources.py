"""The goals resource: propose a goal, read it (now or as it was), revise it, read its history."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_goals.entrypoints.common import container, goal_view, goal_written, iso_dates, on_goal
from waypoint_goals.entrypoints.goals.schemas import (
    AsOfSchema,
    GoalRevisionSchema,
    GoalSchema,
    HistorySchema,
    PageQuerySchema,
    ProposalSchema,
)
from waypoint_goals.service_layer import handlers, queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute
from waypoint_shared.runtime import request_metadata

blp = Blueprint("goals", __name__, url_prefix="/v1", description="Collaborative goals")
REFUSED = "refused: client not known yet (with Retry-After), not eligible, or illegal transition"


@blp.route("/clients/<uuid:client_id>/goals", methods=["POST"])
@blp.arguments(ProposalSchema)
@blp.response(201, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def propose_goal(proposal: dict[str, Any], client_id: Any) -> Response:
    """Propose a goal"""
    wired, tenant = container(), principal().tenant
    details = iso_dates(proposal)
    metadata = request_metadata(acting=proposal["proposed_by"])

    def work(conn: Connection) -> Reply:
        goal = handlers.propose_goal(wired.goals, conn, tenant, str(client_id), details, metadata)
        return goal_written(goal, 201, f"/v1/goals/{goal.goal_id}")

    return execute(wired.engine, work)


@blp.route("/goals/<uuid:goal_id>", methods=["GET"])
@blp.arguments(AsOfSchema, location="query")
@blp.response(200, GoalSchema)
@requires("goals:read")
def get_goal(query: dict[str, Any], goal_id: Any) -> Response:
    """Read a goal (optionally as it was at `as_of`)"""
    wired = container()
    with read(wired.engine) as conn:
        goal = queries.load_goal(
            wired.goals, conn, principal().tenant, str(goal_id), query.get("as_of")
        )
    audit.reads(goal.client_id)
    body = GoalSchema().dump(goal_view(goal))
    return Reply(200, body, {"ETag": f'"{goal.version}"'}).to_response()


@blp.route("/goals/<uuid:goal_id>", methods=["PATCH"])
@blp.arguments(GoalRevisionSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED + ", or every value in changes is the current one")
@blp.alt_response(412, description="If-Match names a version the goal has moved past")
@requires("goals:write")
def revise_goal(revision: dict[str, Any], goal_id: Any) -> Response:
    """Revise a goal, with a reason"""
    reason, changes = revision["reason"], iso_dates(revision["changes"])
    return on_goal(
        goal_id,
        revision.get("by"),
        lambda goals, conn, command: goal_written(
            handlers.revise_goal(goals, conn, command, reason, changes)
        ),
    )


@blp.route("/goals/<uuid:goal_id>/history", methods=["GET"])
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, HistorySchema)
@requires("goals:read")
def goal_history(query: dict[str, Any], goal_id: Any) -> Response:
    """Read a goal's history: every event, when, by whom, at which version"""
    wired, after = container(), int(query.get("cursor", 0))
    with read(wired.engine) as conn:
        page = queries.goal_history(
            wired.goals, conn, principal().tenant, str(goal_id), after, query["limit"]
        )
    for client_id in {e.client_id for e in page.items}:
        audit.reads(client_id)
    items = [
        {
            "version": e.stream_version,
            "type": e.type.split(".")[2],
            "time": e.occurred_at,
            "actor": e.metadata.get("actor", {}),
        }
        for e in page.items
    ]
    body = {"goal_id": goal_id, "items": items, "next_cursor": page.next_cursor}
    return Reply(200, HistorySchema().dump(body)).to_response()
