"""The timeline projector: every event of the suite in, timeline entries and milestones out.

Milestones are also appended to progress's own store (event id = milestone id, so the store's
unique event id refuses a second one) and published as `milestone_reached`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, insert, select

from waypoint_progress.adapters.tables import timeline_entries
from waypoint_progress.domain import timeline
from waypoint_progress.domain.timeline import Entry, SourceEvent
from waypoint_shared.envelope import Envelope
from waypoint_shared.repository import EventSourcedRepository


@dataclass(frozen=True)
class Projector:
    repository: EventSourcedRepository

    def handle(self, conn: Connection, event: Envelope) -> None:
        """Project one decoded event of any topic into the timeline."""
        source = _source(event)
        if timeline.is_derived(source):
            return
        for entry in timeline.entries_for(source):
            if _insert_entry(conn, entry) and entry.kind == "milestone":
                self._publish_milestone(conn, entry, event)

    def _publish_milestone(self, conn: Connection, entry: Entry, cause: Envelope) -> None:
        store = self.repository.store
        if store.contains(conn, entry.id):
            return
        client_id = entry.source.client_id
        metadata: dict[str, Any] = {
            "actor": {"system": "waypoint-progress", "person": None},
            "correlation_id": cause.correlation_id,
            "causation_id": cause.event_id,
        }
        self.repository.record(
            conn,
            tenant_id=entry.source.tenant_id,
            stream_id=client_id,
            client_id=client_id,
            expected_version=store.current_version(conn, client_id),
            events=[timeline.milestone_reached(entry)],
            metadata=metadata,
            event_ids=[entry.id],
        )


def _source(event: Envelope) -> SourceEvent:
    _, service, name, _version = event.type.split(".")
    return SourceEvent(
        event.event_id,
        service,
        name,
        event.tenant_id,
        event.client_id,
        event.time.astimezone(UTC),
        event.stream_version,
    )


def _insert_entry(conn: Connection, entry: Entry) -> bool:
    """Insert an entry unless it is already there; returns whether it was new."""
    exists = conn.execute(
        select(timeline_entries.c.id).where(
            timeline_entries.c.tenant_id == entry.source.tenant_id,
            timeline_entries.c.id == entry.id,
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(timeline_entries).values(
            tenant_id=entry.source.tenant_id,
            id=entry.id,
            client_id=entry.source.client_id,
            kind=entry.kind,
            type=entry.type,
            title=entry.title,
            occurred_at=entry.occurred_at,
            source_service=entry.source.service,
            source_event_id=entry.source.event_id,
            stream_version=entry.source.stream_version,
            sort_key=entry.sort_key,
        )
    )
    return True
