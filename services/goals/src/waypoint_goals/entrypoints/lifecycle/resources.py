"""A goal's lifecycle: agreement, rejection, hold, resume, cancellation, achievement."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_goals.entrypoints.common import goal_written, on_goal
from waypoint_goals.entrypoints.goals.resources import REFUSED
from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_goals.entrypoints.lifecycle.schemas import (
    AchievementSchema,
    AgreementSchema,
    ReasonSchema,
    RejectionSchema,
)
from waypoint_goals.service_layer import handlers
from waypoint_shared.http.auth import requires

blp = Blueprint("lifecycle", __name__, url_prefix="/v1/goals", description="A goal's lifecycle")


@blp.route("/<uuid:goal_id>/agreement", methods=["POST"])
@blp.arguments(AgreementSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def agree(body: dict[str, Any], goal_id: Any) -> Response:
    """Agree to a proposed goal (the party that did not propose it): it becomes active"""
    party = body["agreed_by"]
    return on_goal(
        goal_id,
        party,
        lambda goals, conn, cmd: goal_written(handlers.agree_goal(goals, conn, cmd, party)),
    )


@blp.route("/<uuid:goal_id>/rejection", methods=["POST"])
@blp.arguments(RejectionSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def reject(body: dict[str, Any], goal_id: Any) -> Response:
    """Reject a proposed goal (the party that did not propose it), with a reason"""
    party, reason = body["rejected_by"], body["reason"]
    return on_goal(
        goal_id,
        party,
        lambda goals, conn, cmd: goal_written(
            handlers.reject_goal(goals, conn, cmd, party, reason)
        ),
    )


@blp.route("/<uuid:goal_id>/hold", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def hold(body: dict[str, Any], goal_id: Any) -> Response:
    """Put an active goal on hold, with a reason"""
    reason = body["reason"]
    return on_goal(
        goal_id,
        body.get("by"),
        lambda goals, conn, cmd: goal_written(handlers.hold_goal(goals, conn, cmd, reason)),
    )


@blp.route("/<uuid:goal_id>/resume", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def resume(body: dict[str, Any], goal_id: Any) -> Response:
    """Resume a goal on hold, with a reason"""
    reason = body["reason"]
    return on_goal(
        goal_id,
        body.get("by"),
        lambda goals, conn, cmd: goal_written(handlers.resume_goal(goals, conn, cmd, reason)),
    )


@blp.route("/<uuid:goal_id>/cancellation", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def cancel(body: dict[str, Any], goal_id: Any) -> Response:
    """Cancel a goal that is proposed, active or on hold, with a reason"""
    reason = body["reason"]
    return on_goal(
        goal_id,
        body.get("by"),
        lambda goals, conn, cmd: goal_written(handlers.cancel_goal(goals, conn, cmd, reason)),
    )


@blp.route("/<uuid:goal_id>/achievement", methods=["POST"])
@blp.arguments(AchievementSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def achieve(body: dict[str, Any], goal_id: Any) -> Response:
    """Achieve an active goal: completed and achieved"""
    note = body["note"]
    return on_goal(
        goal_id,
        body.get("by"),
        lambda goals, conn, cmd: goal_written(handlers.achieve_goal(goals, conn, cmd, note)),
    )
