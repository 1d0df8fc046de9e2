"""Read-side queries of progress: the timeline in its order, measures, what FHIR exports, and a
course's outcome and end-of-treatment summary, computed on read from the kept facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.projection import facts_of, has_client
from waypoint_progress.domain import course
from waypoint_progress.domain.corrections import corrected
from waypoint_progress.domain.errors import ClientNotSeen
from waypoint_progress.domain.progress import derived_stream
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, source_order
from waypoint_progress.domain.trajectory import Point, trajectory
from waypoint_shared.db.database import stored_utc
from waypoint_shared.eventstore.repository import (
    EventSourcedRepository,
    RecordedEvent,
    exported,
)
from waypoint_shared.http import audit

SORT_KEY_PARTS = 7  # clinical time, recorded time, service, version, kind, row, id


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


@dataclass(frozen=True)
class TimelineQuery:
    tenant_id: str
    client_id: str
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def timeline(conn: Connection, q: TimelineQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a client's timeline and the cursor of the next page (None at the end).
    `since` and `until` bound the clinical time: what had happened by then, as known now."""
    stored = _stored(conn, q.tenant_id, q.client_id)  # an unknown client: 404, whatever the cursor
    after = _decode_cursor(q.cursor) if q.cursor else None
    since, until = (
        stored_utc(q.since) if q.since else None,
        stored_utc(q.until) if q.until else None,
    )
    chosen = [
        e
        for e in stored
        if (q.kind is None or e["kind"] == q.kind)
        and (since is None or datetime.fromisoformat(e["occurred_at"]) >= since)
        and (until is None or datetime.fromisoformat(e["occurred_at"]) <= until)
        and (after is None or e["sort_key"] > after)
    ]
    page = chosen[: q.limit]
    next_cursor = page[-1]["sort_key"] if len(chosen) > q.limit else None
    return [_entry(e) for e in page], next_cursor


def whole_timeline(conn: Connection, tenant_id: str, client_id: str) -> list[dict[str, Any]]:
    """Every entry of a client's timeline, in order (for the picture)."""
    return [_entry(e) for e in _stored(conn, tenant_id, client_id)]


def _stored(conn: Connection, tenant_id: str, client_id: str) -> list[dict[str, Any]]:
    """The client's stored timeline, in its order; ClientNotSeen if it has none."""
    stored = projection.stored_timelines(conn, [(tenant_id, client_id)])
    if (tenant_id, client_id) not in stored:
        raise ClientNotSeen(client_id)
    return stored[(tenant_id, client_id)]


def _entry(stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": stored["id"],
        "kind": stored["kind"],
        "type": stored["type"],
        "title": stored["title"],
        "occurred_at": stored["occurred_at"],
        "recorded_at": stored["recorded_at"],
        "source": {"service": stored["source_service"], "event_id": stored["source_event_id"]},
    }


def _decode_cursor(cursor: str) -> str:
    """The timeline's cursor is the sort key of the last entry of the page before."""
    if cursor.count("|") != SORT_KEY_PARTS - 1:
        raise BadCursor(cursor)
    return cursor


def client_history(
    conn: Connection,
    repository: EventSourcedRepository,
    tenant_id: str,
    client_id: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Any, RecordedEvent]], str | None]:
    """A page of what progress recorded of a client (sessions, their amendments and entries in
    error with their reasons, acknowledgements), opened, oldest first, with the next cursor."""
    history = repository.replay(conn, tenant_id, client_id)
    if not history and not has_client(conn, tenant_id, client_id):
        raise ClientNotSeen(client_id)
    after = _decode_version(cursor) if cursor else 0
    rest = [(e, r) for e, r in history if r.stream_version > after]
    page = rest[:limit]
    more = len(rest) > limit
    return page, str(page[-1][1].stream_version) if more else None


def _decode_version(cursor: str) -> int:
    """The history's cursor is the stream version of the last event of the page before."""
    if not (cursor.isascii() and cursor.isdigit()):
        raise BadCursor(cursor)
    return int(cursor)


def _history(conn: Connection, tenant_id: str, client_id: str) -> list[SourceEvent]:
    history = facts_of(conn, tenant_id, client_id)
    if not history:
        raise ClientNotSeen(client_id)
    return history


def measures(
    conn: Connection, tenant_id: str, client_id: str, instrument: str, thresholds: Thresholds
) -> list[Point]:
    """One instrument's trajectory: intake's screening, then every session's score."""
    return trajectory(_history(conn, tenant_id, client_id), instrument, thresholds)


def trajectories(
    conn: Connection, tenant_id: str, client_id: str, thresholds: Thresholds
) -> dict[str, list[Point]]:
    """Every instrument's trajectory (for the picture)."""
    history = _history(conn, tenant_id, client_id)
    return {i: trajectory(history, i, thresholds) for i in ("PHQ-9", "GAD-7", "ORS", "SRS")}


def session_measures(conn: Connection, tenant_id: str, client_id: str) -> list[SourceEvent]:
    """A client's projected sessions that scored something, as corrected, in recording order
    (for FHIR). A corrected session's recorded time is that of its last correction: the time
    its measures, as answered, were made available."""
    sessions = [
        _as_last_recorded(e)
        for e in corrected(facts_of(conn, tenant_id, client_id))
        if e.name == "session_recorded" and e.facts.get("measures")
    ]
    return sorted(sessions, key=lambda e: (e.occurred_at, e.stream_version))


def _as_last_recorded(session: SourceEvent) -> SourceEvent:
    corrected_at = session.facts.get("corrected_at")
    if corrected_at is None:
        return session
    return replace(session, recorded_at=datetime.fromisoformat(str(corrected_at)))


def client_of_session(conn: Connection, tenant_id: str, session_id: str) -> str | None:
    """The client of this tenant who had that session; None if none did."""
    return projection.client_of_session(conn, tenant_id, session_id)


def subject_access(
    conn: Connection, repository: EventSourcedRepository, tenant_id: str, client_id: str
) -> dict[str, Any]:
    """Everything progress holds about a client, opened: the timeline, the sessions and
    acknowledgements it recorded, the milestones and alerts it derived, and the reads so far."""
    streams = (client_id, derived_stream(client_id))
    events = [e for s in streams for e in exported(repository.replay(conn, tenant_id, s))]
    stored = projection.stored_timelines(conn, [(tenant_id, client_id)])
    entries = [_entry(e) for e in stored.get((tenant_id, client_id), [])]
    if not events and not entries:
        raise ClientNotSeen(client_id)
    reads, _ = audit.access_log(conn, tenant_id, client_id)
    return {"timeline": entries, "events": events, "access_log": reads}


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
