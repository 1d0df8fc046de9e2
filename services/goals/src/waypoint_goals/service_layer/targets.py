"""Targets met by recorded scores: progress's `session_recorded` events against agreed goals.

A session the client attended, with measures, is checked against each goal of the client; a goal
whose target the session's score meets records `goal_target_met` once. The goal decides (its
target not met before, agreed and open), so a redelivered or replayed session records nothing
twice.
"""

from __future__ import annotations

from sqlalchemy import Connection

from waypoint_goals.adapters import plan
from waypoint_goals.service_layer.handlers import Goals
from waypoint_goals.service_layer.queries import ALL_GOALS, load_goal
from waypoint_shared.eventstore.repository import Append
from waypoint_shared.messaging.envelope import Envelope


def session_recorded(goals: Goals, conn: Connection, event: Envelope) -> None:
    """Record each target the session's scores meet for the first time."""
    if not event.data.get("attended") or not event.data.get("measures"):
        return
    scores = {m["instrument"]: float(m["total"]) for m in event.data["measures"]}
    session_id, held_on = str(event.data["session_id"]), str(event.data["date"])
    for _, goal_id in plan.goal_ids(conn, event.tenant_id, event.client_id, limit=ALL_GOALS):
        goal = load_goal(goals, conn, event.tenant_id, goal_id)
        target = goal.details.get("target") or {}
        instrument = target.get("instrument")
        if instrument not in scores:
            continue
        met = goal.meet_target(instrument, scores[instrument], session_id, held_on)
        if met is not None:
            append = Append(
                event.tenant_id, goal_id, goal.client_id, goal.version, [met], _caused_by(event)
            )
            goals.repository.record(conn, append)


def _caused_by(event: Envelope) -> dict[str, object]:
    """The write audit trail of a recorded fact: the progress event that caused it."""
    return {
        "actor": {"system": "goals", "person": None},
        "correlation_id": event.correlation_id or event.event_id,
        "causation_id": event.event_id,
    }
