"""Check-ins on a goal: a rating 0 to 10 whose trend is the goal's achievement status."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_goals.entrypoints.check_ins.schemas import CheckInSchema
from waypoint_goals.entrypoints.common import goal_written, on_goal
from waypoint_goals.entrypoints.goals.resources import REFUSED
from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_goals.service_layer import handlers
from waypoint_shared.http.auth import requires

blp = Blueprint("check_ins", __name__, url_prefix="/v1/goals", description="Goal check-ins")


@blp.route("/<uuid:goal_id>/check-ins", methods=["POST"])
@blp.arguments(CheckInSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def check_in(body: dict[str, Any], goal_id: Any) -> Response:
    """Check in on an active goal; answers the goal with its new achievement status"""
    rating, by, note = body["rating"], body["by"], body["note"]
    return on_goal(
        goal_id,
        by,
        lambda goals, conn, cmd: goal_written(
            handlers.check_in(goals, conn, cmd, rating, by, note)
        ),
    )
