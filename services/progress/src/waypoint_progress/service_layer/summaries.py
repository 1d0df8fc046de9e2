"""Read-side queries of a client's course: its outcome and its end-of-treatment summary, computed
on read from the kept facts (docs/progress.md, "Outcomes")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters.projection import facts_of
from waypoint_progress.domain import course
from waypoint_progress.domain.errors import ClientNotSeen
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, source_order
from waypoint_progress.service_layer.queries import whole_timeline


def _history(conn: Connection, tenant_id: str, client_id: str) -> list[SourceEvent]:
    history = facts_of(conn, tenant_id, client_id)
    if not history:
        raise ClientNotSeen(client_id)
    return history


def outcome(
    conn: Connection, tenant_id: str, client_id: str, thresholds: Thresholds
) -> dict[str, Any]:
    """The course outcome: so far before discharge, final after."""
    return course.course_outcome(_history(conn, tenant_id, client_id), thresholds).as_dict()


def summary(
    conn: Connection, tenant_id: str, client_id: str, thresholds: Thresholds
) -> dict[str, Any]:
    """The end-of-treatment summary: the outcome, the milestones reached, the goals achieved
    (ids and times) and each measure's first and last score."""
    history = _history(conn, tenant_id, client_id)
    journey = course.journey_of(history, thresholds)
    entries = whole_timeline(conn, tenant_id, client_id)
    return {
        "outcome": course.outcome_of(journey).as_dict(),
        "milestones": [e for e in entries if e["kind"] == "milestone"],
        "goals_achieved": goals_achieved(history),
        "measures": course.first_to_last(journey),
    }


def goals_achieved(history: list[SourceEvent]) -> list[dict[str, Any]]:
    """Each goal achieved, first time only, by id and time (never its personal text)."""
    achieved: dict[str, str] = {}
    for event in sorted(history, key=source_order):
        if event.name == "goal_achieved":
            achieved.setdefault(str(event.facts["goal_id"]), event.occurred_at.isoformat())
    return [{"goal_id": goal, "achieved_at": at} for goal, at in achieved.items()]
