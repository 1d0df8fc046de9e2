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
    EVENTS,
    ClientProgress,
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
        return cls(EventSourcedRepository(SERVICE, store, keys, EVENTS), thresholds)


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
    scores = [
        scoring.score(m["instrument"], m["items"], progress.thresholds, standing.age_group)
        for m in session["measures"]
    ]
    client = load_progress(progress, conn, tenant_id, client_id)
    event = session_recorded(client_id, str(uuid.uuid4()), session, scores)
    version = client.version if expected_version is None else expected_version
    append = Append(tenant_id, client_id, client_id, version, [event], metadata)
    [recorded] = progress.repository.record(conn, append)
    alerts = immediate_alerts(progress, recorded)
    publish(progress.repository, conn, alerts, lambda _: metadata.get("correlation_id"))
    return SessionOutcome(recorded, scores, alerts)


def immediate_alerts(progress: Progress, recorded: RecordedEvent) -> list[Entry]:
    """The same alerts, ids and times the projection will derive when the session reaches it."""
    source = recorded_source(recorded)
    return [
        e
        for e in timeline.derive([source], progress.thresholds)
        if e.kind == "alert" and e.type in SESSION_LOCAL_ALERTS
    ]


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
    until = as_of.astimezone(UTC) if as_of else None
    client = ClientProgress(client_id)
    for stream, own in ((client_id, True), (derived_stream(client_id), False)):
        for event, _ in progress.repository.replay(conn, tenant_id, stream, until):
            client.apply(event, own_stream=own)
    return client
