"""A goal's action steps: plan one, read one, complete one, revise one."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_goals.domain.goal import Goal
from waypoint_goals.entrypoints.common import container, goal_written, iso_dates, on_goal
from waypoint_goals.entrypoints.goals.resources import REFUSED
from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_goals.entrypoints.steps.schemas import (
    CompletionSchema,
    GoalStepSchema,
    NewStepSchema,
    StepRevisionSchema,
)
from waypoint_goals.service_layer import handlers, queries
from waypoint_goals.service_layer.handlers import Command, Goals
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, written

blp = Blueprint("steps", __name__, url_prefix="/v1/goals", description="Action steps")
STEP = "/<uuid:goal_id>/steps/<uuid:step_id>"


def step_view(goal: Goal, step_id: str) -> dict[str, Any]:
    step = vars(goal.step(step_id))
    context = {"goal_id": goal.goal_id, "lifecycle_status": goal.lifecycle_status}
    return {**step, **context, "version": goal.version}


@blp.route("/<uuid:goal_id>/steps", methods=["POST"])
@blp.arguments(NewStepSchema)
@blp.response(201, GoalStepSchema)
@blp.alt_response(409, description=REFUSED)
@requires("goals:write")
def plan_step(body: dict[str, Any], goal_id: Any) -> Response:
    """Plan an action step of an active goal"""
    step = iso_dates(body)

    def work(goals: Goals, conn: Connection, command: Command) -> Reply:
        goal, step_id = handlers.plan_step(
            goals, conn, command, step["description"], step["due_date"]
        )
        body = GoalStepSchema().dump(step_view(goal, step_id))
        location = f"/v1/goals/{goal.goal_id}/steps/{step_id}"
        return written(201, body, goal.version, location, subject=goal.client_id)

    return on_goal(goal_id, body.get("by"), work)


@blp.route(STEP, methods=["GET"])
@blp.response(200, GoalStepSchema)
@requires("goals:read")
def get_step(goal_id: Any, step_id: Any) -> Response:
    """Read an action step"""
    wired = container()
    with read(wired.engine) as conn:
        goal = queries.load_goal(wired.goals, conn, principal().tenant, str(goal_id))
    audit.reads(goal.client_id)
    body = GoalStepSchema().dump(step_view(goal, str(step_id)))
    return Reply(200, body, {"ETag": f'"{goal.version}"'}).to_response()


@blp.route(f"{STEP}/completion", methods=["POST"])
@blp.arguments(CompletionSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED + ", or the step is already completed")
@requires("goals:write")
def complete_step(body: dict[str, Any], goal_id: Any, step_id: Any) -> Response:
    """Complete an action step of an active goal"""
    note, completed_on = body["note"], body["completed_on"].isoformat()
    return on_goal(
        goal_id,
        body.get("by"),
        lambda goals, conn, cmd: goal_written(
            handlers.complete_step(goals, conn, cmd, str(step_id), note, completed_on)
        ),
    )


@blp.route(STEP, methods=["PATCH"])
@blp.arguments(StepRevisionSchema)
@blp.response(200, GoalSchema)
@blp.alt_response(409, description=REFUSED + ", or every value in changes is the current one")
@blp.alt_response(412, description="If-Match names a version the goal has moved past")
@requires("goals:write")
def revise_step(revision: dict[str, Any], goal_id: Any, step_id: Any) -> Response:
    """Revise an action step, with a reason"""
    reason, changes = revision["reason"], iso_dates(revision["changes"])
    return on_goal(
        goal_id,
        revision.get("by"),
        lambda goals, conn, cmd: goal_written(
            handlers.revise_step(goals, conn, cmd, str(step_id), reason, changes)
        ),
    )
