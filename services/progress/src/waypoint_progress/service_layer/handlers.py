"""Progress's command handlers: load, decide, record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters import projection
from waypoint_progress.domain import scoring, timeline
from waypoint_progress.domain.progress import (
    DERIVED_ENTRIES,
    EVENTS,
    ClientProgress,
    SessionRecorded,
    derived_stream,
    session_recorded,
)
from waypoint_progress.domain.rules import SESSION_LOCAL_ALERTS
from waypoint_progress.domain.scoring import Score, Thresholds
from waypoint_progress.domain.timeline import Entry
from waypoint_progress.service_layer.projector import publish, recorded_source
from waypoint_shared.crypto.sealing import PersonalDataKeys
from waypoint_shared.eventstore.repository import (
    Append,
    EventSourcedRepository,
    EventStore,
    RecordedEvent,
)

SERVICE = "progress"


@dataclass(frozen=True)
class Progress:
    """Progress's dependencies, injected once by bootstrap."""

    repository: EventSourcedRepository
    thresholds: Thresholds

    @classmethod
    def create(cls, store: EventStore, keys: PersonalDataKeys, thresholds: Thresholds) -> Progress:
        repository = EventSourcedRepository(SERVICE, store, keys, EVENTS, DERIVED_ENTRIES)
        return cls(repository, thresholds)


@dataclass(frozen=True)
class SessionOutcome:
    recorded: RecordedEvent
    scores: list[Score]
    alerts: list[Entry]


def record_session(
    progress: Progress,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    session: dict[str, Any],
    metadata: dict[str, Any],
    expected_version: int | None = None,
) -> SessionOutcome:
    """Score and record a check-in; the alerts it raises on its own are raised at once. Only for
    a client whose referral progress has received in this tenant, not discharged, consenting."""
    standing = projection.standing_of(conn, tenant_id, client_id)
    standing.ensure_sessions_may_be_recorded(date.fromisoformat(session["date"]))
    scores = _scored(progress, session["measures"], standing.age_group)
    client = load_progress(progress, conn, tenant_id, client_id)
    event = session_recorded(client_id, str(uuid.uuid4()), session, scores)
    version = client.version if expected_version is None else expected_version
    append = Append(tenant_id, client_id, client_id, version, [event], metadata)
    [recorded] = progress.repository.record(conn, append)
    alerts = immediate_alerts(progress, recorded)
    publish(progress.repository, conn, alerts, lambda _: metadata.get("correlation_id"))
    return SessionOutcome(recorded, scores, alerts)


def _scored(
    progress: Progress, measures: list[dict[str, Any]], age_group: str | None
) -> list[Score]:
    return [
        scoring.score(m["instrument"], m["items"], progress.thresholds, age_group) for m in measures
    ]


def immediate_alerts(progress: Progress, *recorded: RecordedEvent) -> list[Entry]:
    """The same alerts, ids and times the projection will derive when the session (and the
    amendment that follows it, if one is given) reaches it."""
    sources = [recorded_source(r) for r in recorded]
    return [
        e
        for e in timeline.derive(sources, progress.thresholds)
        if e.kind == "alert" and e.type in SESSION_LOCAL_ALERTS
    ]


@dataclass(frozen=True)
class Correction:
    """A session's correction as recorded, the client after it, and the alerts it raised."""

    recorded: RecordedEvent
    client: ClientProgress
    alerts: list[Entry]


def amend_session(
    progress: Progress,
    conn: Connection,
    target: SessionOf,
    amendment: dict[str, Any],
    metadata: dict[str, Any],
    expected_version: int | None = None,
) -> Correction:
    """Record new measures for a recorded session, with the reason; the alerts the amended
    measures raise on their own are raised at once. Also after a discharge: the record is
    corrected, and what was derived from it follows."""
    standing = projection.standing_of(conn, target.tenant_id, target.client_id)
    standing.ensure_known()
    scores = _scored(progress, amendment["measures"], standing.age_group)
    client, sessions = _loaded(progress, conn, target.tenant_id, target.client_id)
    event = client.amend(target.session_id, scores, amendment["reason"])
    recorded = _record(progress, conn, target, client, event, metadata, expected_version)
    alerts = immediate_alerts(progress, sessions[target.session_id], recorded)
    publish(progress.repository, conn, alerts, lambda _: metadata.get("correlation_id"))
    return Correction(recorded, client, alerts)


def mark_entered_in_error(
    progress: Progress,
    conn: Connection,
    target: SessionOf,
    reason: str,
    metadata: dict[str, Any],
    expected_version: int | None = None,
) -> Correction:
    """Mark a recorded session entered in error, with the reason: it stays in the record and
    counts for nothing derived."""
    projection.standing_of(conn, target.tenant_id, target.client_id).ensure_known()
    client = load_progress(progress, conn, target.tenant_id, target.client_id)
    event = client.mark_entered_in_error(target.session_id, reason)
    recorded = _record(progress, conn, target, client, event, metadata, expected_version)
    return Correction(recorded, client, [])


@dataclass(frozen=True)
class SessionOf:
    """A session of a client in a tenant, as a command names it."""

    tenant_id: str
    client_id: str
    session_id: str


def _record(
    progress: Progress,
    conn: Connection,
    target: SessionOf,
    client: ClientProgress,
    event: object,
    metadata: dict[str, Any],
    expected_version: int | None,
) -> RecordedEvent:
    """Append one event to the client's stream and apply it to `client`."""
    version = client.version if expected_version is None else expected_version
    stream = target.client_id
    append = Append(target.tenant_id, stream, target.client_id, version, [event], metadata)
    [recorded] = progress.repository.record(conn, append)
    client.apply(event)
    return recorded


def acknowledge_alert(
    progress: Progress,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    alert_id: str,
    acknowledgement: dict[str, Any],
    metadata: dict[str, Any],
    expected_version: int | None = None,
) -> RecordedEvent:
    """Record who acknowledged a raised alert and what was done; once per alert, for a client
    whose referral progress has received in this tenant."""
    projection.standing_of(conn, tenant_id, client_id).ensure_known()
    client = load_progress(progress, conn, tenant_id, client_id)
    event = client.acknowledge(
        alert_id, acknowledgement["acknowledged_by"], acknowledgement["action_taken"]
    )
    version = client.version if expected_version is None else expected_version
    append = Append(tenant_id, client_id, client_id, version, [event], metadata)
    [recorded] = progress.repository.record(conn, append)
    return recorded


def load_progress(
    progress: Progress,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    as_of: datetime | None = None,
) -> ClientProgress:
    """A client as progress recorded it (optionally as it was at `as_of`)."""
    return _loaded(progress, conn, tenant_id, client_id, as_of)[0]


def _loaded(
    progress: Progress,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    as_of: datetime | None = None,
) -> tuple[ClientProgress, dict[str, RecordedEvent]]:
    """The client, and the stored record of each session recorded, by session id."""
    until = as_of.astimezone(UTC) if as_of else None
    client, sessions = ClientProgress(client_id), {}
    for stream, own in ((client_id, True), (derived_stream(client_id), False)):
        for event, recorded in progress.repository.replay(conn, tenant_id, stream, until):
            client.apply(event, own_stream=own)
            if isinstance(event, SessionRecorded):
                sessions[event.session_id] = recorded
    return client, sessions
