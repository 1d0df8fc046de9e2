"""A goal's lifecycle: agreement, rejection, hold, resume, cancellation, achievement.

Every lifecycle command is the same route: a POST under the goal naming the command, a body of
its schema, the person acting, one handler call, the goal as it now is. The table below lists
them; `goal_command` builds the route of one (check-ins use it too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import Connection

from waypoint_goals.domain.goal import Goal
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
from waypoint_goals.service_layer.handlers import Command, Goals
from waypoint_shared.http.auth import requires

blp = Blueprint("lifecycle", __name__, url_prefix="/v1/goals", description="A goal's lifecycle")

Handle = Callable[[Goals, Connection, Command, dict[str, Any]], Goal]


@dataclass(frozen=True)
class GoalCommand:
    """One command on a goal: its route, body, summary, who acts, and the handler it calls."""

    name: str
    path: str
    schema: type[Schema]
    summary: str
    handle: Handle
    acting: Callable[[dict[str, Any]], Any] = lambda body: body.get("by")


def goal_command(blp: Blueprint, command: GoalCommand) -> None:
    """Add the route of a command on an existing goal to the blueprint."""

    def view(body: dict[str, Any], goal_id: Any) -> Response:
        return on_goal(
            goal_id,
            command.acting(body),
            lambda goals, conn, cmd: goal_written(command.handle(goals, conn, cmd, body)),
        )

    view.__name__, view.__doc__ = command.name, command.summary
    documented = blp.alt_response(409, description=REFUSED)(requires("goals:write")(view))
    described = blp.arguments(command.schema)(blp.response(200, GoalSchema)(documented))
    blp.route(f"/<uuid:goal_id>/{command.path}", methods=["POST"], endpoint=command.name)(described)


LIFECYCLE = (
    GoalCommand(
        "agree",
        "agreement",
        AgreementSchema,
        "Agree to a proposed goal (the party that did not propose it): it becomes active",
        lambda goals, conn, cmd, body: handlers.agree_goal(
            goals, conn, cmd, body["agreed_by"], body["agreed_on"].isoformat()
        ),
        acting=lambda body: body["agreed_by"],
    ),
    GoalCommand(
        "reject",
        "rejection",
        RejectionSchema,
        "Reject a proposed goal (the party that did not propose it), with a reason",
        lambda goals, conn, cmd, body: handlers.reject_goal(
            goals, conn, cmd, body["rejected_by"], body["reason"]
        ),
        acting=lambda body: body["rejected_by"],
    ),
    GoalCommand(
        "hold",
        "hold",
        ReasonSchema,
        "Put an active goal on hold, with a reason",
        lambda goals, conn, cmd, body: handlers.hold_goal(goals, conn, cmd, body["reason"]),
    ),
    GoalCommand(
        "resume",
        "resume",
        ReasonSchema,
        "Resume a goal on hold, with a reason",
        lambda goals, conn, cmd, body: handlers.resume_goal(goals, conn, cmd, body["reason"]),
    ),
    GoalCommand(
        "cancel",
        "cancellation",
        ReasonSchema,
        "Cancel a goal that is proposed, active or on hold, with a reason",
        lambda goals, conn, cmd, body: handlers.cancel_goal(goals, conn, cmd, body["reason"]),
    ),
    GoalCommand(
        "achieve",
        "achievement",
        AchievementSchema,
        "Achieve an active goal: completed and achieved",
        lambda goals, conn, cmd, body: handlers.achieve_goal(goals, conn, cmd, body["note"]),
    ),
)

for lifecycle_command in LIFECYCLE:
    goal_command(blp, lifecycle_command)
