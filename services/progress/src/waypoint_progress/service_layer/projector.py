"""The timeline projector: every event of the suite in, timeline entries, milestones, alerts out.

For each event it keeps the event's non-personal facts, derives the client's whole timeline again
from the set of facts (so arrival order never matters), and stores it. Milestones and alerts new to
progress's store are appended there (event id = entry id, so the store's unique event id refuses a
second one) and published as `milestone_reached` / `alert_raised`.

Intake's `client_erased` makes progress forget the client; an event of an erased client that
arrives later (from another topic, a replay, a rebuild) is ignored, so nothing of theirs returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.tables import LIVE, ProjectionTables
from waypoint_progress.domain import timeline
from waypoint_progress.domain.progress import AlertRaised, MilestoneReached, derived_stream
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, is_journey_event
from waypoint_progress.domain.timeline import Entry
from waypoint_shared import catalog, erasure
from waypoint_shared.envelope import Envelope
from waypoint_shared.repository import EventSourcedRepository

ACTOR = {"system": "waypoint-progress", "person": None}
CLIENT_ERASED = "waypoint.intake.client_erased.v1"


@dataclass(frozen=True)
class Projector:
    repository: EventSourcedRepository
    thresholds: Thresholds = field(default_factory=Thresholds)
    tables: ProjectionTables = LIVE

    def handle(self, conn: Connection, event: Envelope) -> None:
        """Project one decoded event of any topic into its client's timeline."""
        if erasure.is_erased(conn, event.tenant_id, event.client_id):
            return
        if event.type == CLIENT_ERASED:
            self.forget(conn, event.tenant_id, event.client_id)
            return
        source = source_event(event)
        if not is_journey_event(source):
            return
        projection.remember(conn, source, self.tables)
        history = projection.facts_of(conn, source.tenant_id, source.client_id, self.tables)
        entries = timeline.derive(history, self.thresholds)
        projection.replace_timeline(conn, source.tenant_id, source.client_id, entries, self.tables)
        for entry in entries:
            if entry.kind != "event":
                publish(self.repository, conn, entry, event.correlation_id)

    def forget(self, conn: Connection, tenant_id: str, client_id: str) -> None:
        """Erase a client: their rows in the live tables (and in those being rebuilt), their
        keys, and the stored replies that quote them."""
        for tables in {self.tables.suffix: self.tables, LIVE.suffix: LIVE}.values():
            projection.forget(conn, tenant_id, client_id, tables)
        erasure.forget_client(conn, tenant_id, client_id)


def source_event(event: Envelope) -> SourceEvent:
    """The event as the projection keeps it: non-personal facts only."""
    _, service, name, _version = event.type.split(".")
    personal = catalog.lookup(event.type).personal_fields
    facts: dict[str, Any] = {k: v for k, v in event.data.items() if k not in personal}
    facts["personal"] = sorted(n for n in personal if event.data.get(n) is not None)
    return SourceEvent(
        event.event_id,
        service,
        name,
        event.tenant_id,
        event.client_id,
        event.time.astimezone(UTC),
        event.stream_version,
        facts,
    )


def publish(
    repository: EventSourcedRepository, conn: Connection, entry: Entry, correlation_id: str | None
) -> bool:
    """Append a derived milestone or alert to progress's store once; returns whether it was new."""
    store = repository.store
    if store.contains(conn, entry.id):
        return False
    client_id, stream = entry.source.client_id, derived_stream(entry.source.client_id)
    repository.record(
        conn,
        tenant_id=entry.source.tenant_id,
        stream_id=stream,
        client_id=client_id,
        expected_version=store.current_version(conn, stream),
        events=[derived_event(entry)],
        metadata={
            "actor": ACTOR,
            "correlation_id": correlation_id or entry.source.event_id,
            "causation_id": entry.source.event_id,
        },
        event_ids=[entry.id],
    )
    return True


def derived_event(entry: Entry) -> MilestoneReached | AlertRaised:
    kind = MilestoneReached if entry.kind == "milestone" else AlertRaised
    return kind(
        entry.id,
        entry.source.client_id,
        entry.type,
        entry.title,
        entry.occurred_at.isoformat(),
        entry.source.service,
        entry.source.event_id,
    )
