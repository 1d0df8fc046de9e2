"""What the goals blueprints share: the container, running a goal command, a goal's JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask.wrappers import Response
from sqlalchemy import Connection

from waypoint_goals.bootstrap import Container
from waypoint_goals.domain.goal import Goal
from waypoint_goals.domain.lifecycle import allowed_actions
from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_goals.service_layer.handlers import Command, Goals
from waypoint_shared.http.auth import principal
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.http.web import current_container
from waypoint_shared.runtime import request_metadata

GoalWork = Callable[[Goals, Connection, Command], Reply]


def container() -> Container:
    return current_container(Container)


def on_goal(goal_id: Any, acting: dict[str, Any] | None, work: GoalWork) -> Response:
    """Run a command on an existing goal: If-Match, audit metadata, one transaction."""
    wired = container()
    command = Command(
        principal().tenant,
        str(goal_id),
        expected_version_from_if_match(),
        request_metadata(acting=acting),
    )
    return execute(wired.engine, lambda conn: work(wired.goals, conn, command))


def goal_view(goal: Goal) -> dict[str, Any]:
    return {
        **goal.details,
        "goal_id": goal.goal_id,
        "client_id": goal.client_id,
        "lifecycle_status": goal.lifecycle_status,
        "achievement_status": goal.achievement_status,
        "latest_rating": goal.latest_rating,
        "agreed_by": goal.agreed_by,
        "agreed_on": goal.agreed_on,
        **_target_met(goal.target_met),
        "allowed_actions": allowed_actions(goal.lifecycle_status),
        "steps": [vars(step) for step in goal.steps.values()],
        "version": goal.version,
    }


def _target_met(met: dict[str, Any] | None) -> dict[str, Any]:
    if met is None:
        return {"target_met_at": None, "target_met_score": None, "target_met_session_id": None}
    return {
        "target_met_at": met["met_on"],
        "target_met_score": met["score"],
        "target_met_session_id": met["session_id"],
    }


def goal_written(goal: Goal, status: int = 200, location: str | None = None) -> Reply:
    """The reply to a goal command: the goal as it now is, its version as the ETag."""
    body = GoalSchema().dump(goal_view(goal))
    return written(status, body, goal.version, location, subject=goal.client_id)


def iso_dates(values: dict[str, Any]) -> dict[str, Any]:
    """Dates as the ISO strings the events carry."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
