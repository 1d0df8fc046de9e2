"""Reading and writing the projection tables: a client's facts in, its timeline out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from waypoint_progress.adapters.tables import LIVE, ProjectionTables
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.timeline import Entry


def utc(moment: datetime) -> datetime:
    """SQLite keeps no zone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def remember(conn: Connection, event: SourceEvent, tables: ProjectionTables = LIVE) -> bool:
    """Keep an event's facts unless they are already kept; returns whether they were new."""
    t = tables.source_events
    known = conn.execute(
        select(t.c.event_id).where(t.c.tenant_id == event.tenant_id, t.c.event_id == event.event_id)
    ).first()
    if known is not None:
        return False
    conn.execute(
        insert(t).values(
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            client_id=event.client_id,
            service=event.service,
            name=event.name,
            occurred_at=event.occurred_at,
            stream_version=event.stream_version,
            facts=dict(event.facts),
        )
    )
    return True


def facts_of(
    conn: Connection, tenant_id: str, client_id: str, tables: ProjectionTables = LIVE
) -> list[SourceEvent]:
    """Every kept source event of a client (in no particular order: the domain sorts them)."""
    t = tables.source_events
    rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id))
    return [_source(row) for row in rows]


def _source(row: Any) -> SourceEvent:
    return SourceEvent(
        row.event_id,
        row.service,
        row.name,
        row.tenant_id,
        row.client_id,
        utc(row.occurred_at),
        row.stream_version,
        row.facts,
    )


def replace_timeline(
    conn: Connection,
    tenant_id: str,
    client_id: str,
    entries: Sequence[Entry],
    tables: ProjectionTables = LIVE,
) -> None:
    """Make a client's stored timeline exactly the derived one."""
    t = tables.timeline_entries
    conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id))
    if entries:
        conn.execute(insert(t), [_row(e) for e in entries])


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "tenant_id": entry.source.tenant_id,
        "id": entry.id,
        "client_id": entry.source.client_id,
        "kind": entry.kind,
        "type": entry.type,
        "title": entry.title,
        "occurred_at": entry.occurred_at,
        "source_service": entry.source.service,
        "source_event_id": entry.source.event_id,
        "stream_version": entry.source.stream_version,
        "sort_key": entry.sort_key,
    }


def forget(conn: Connection, tenant_id: str, client_id: str, tables: ProjectionTables) -> None:
    """Delete an erased client's facts and timeline."""
    for t in tables.all:
        conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id))
