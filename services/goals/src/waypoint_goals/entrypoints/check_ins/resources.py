"""Check-ins on a goal: a rating 0 to 10 whose trend is the goal's achievement status."""

from __future__ import annotations

from flask_smorest import Blueprint

from waypoint_goals.entrypoints.check_ins.schemas import CheckInSchema
from waypoint_goals.entrypoints.lifecycle.resources import GoalCommand, goal_command
from waypoint_goals.service_layer import handlers

blp = Blueprint("check_ins", __name__, url_prefix="/v1/goals", description="Goal check-ins")

goal_command(
    blp,
    GoalCommand(
        "check_in",
        "check-ins",
        CheckInSchema,
        "Check in on an active goal; answers the goal with its new achievement status",
        lambda goals, conn, cmd, body: handlers.check_in(
            goals, conn, cmd, body["rating"], body["by"], body["note"]
        ),
        acting=lambda body: body["by"],
    ),
)
