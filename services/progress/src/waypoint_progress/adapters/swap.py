"""Fresh projection tables for a rebuild, their clients page by page, and swapping them in for the
live ones in one transaction (SQLite and PostgreSQL both rename tables transactionally)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, literal, select, text, tuple_

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.projection import Client, by_tenant
from waypoint_progress.adapters.tables import LIVE, ProjectionTables
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.timeline import Entry
from waypoint_shared.db.database import is_sqlite
from waypoint_shared.db.lists import one_of
from waypoint_shared.db.tables import consumer_offsets

Position = tuple[str, int]
DISCHARGE = "client_discharged"  # the source event that closes a course (domain/journey.py)


def create_fresh(conn: Connection, fresh: ProjectionTables) -> None:
    """Empty tables to rebuild into (left-overs of an interrupted rebuild are dropped)."""
    for table in fresh.all:
        table.drop(conn, checkfirst=True)
        table.create(conn)


def clients_after(
    conn: Connection, tables: ProjectionTables, after: Client | None, limit: int
) -> list[Client]:
    """The next `limit` clients with a kept fact, in (tenant, client) order, after `after` (from
    the first if None): a walk along the facts' client index."""
    t = tables.source_events
    query = select(t.c.tenant_id, t.c.client_id).distinct()
    if after is not None:
        query = query.where(tuple_(t.c.tenant_id, t.c.client_id) > tuple_(*map(literal, after)))
    query = query.order_by(t.c.tenant_id, t.c.client_id).limit(limit)
    return [(row.tenant_id, row.client_id) for row in conn.execute(query)]


def timelines_of(
    conn: Connection, clients: Collection[Client], tables: ProjectionTables
) -> dict[Client, list[Entry]]:
    """The clients' timelines as the tables keep them, in timeline order. Each entry's source
    event carries what publishing reads of it (ids, service, stream version, times), not its
    facts, and the entry keeps its stored sort key."""
    stored = projection.stored_timelines(conn, clients, tables)
    return {
        (tenant_id, client_id): [
            _entry(tenant_id, client_id, e) for e in stored.get((tenant_id, client_id), [])
        ]
        for tenant_id, client_id in clients
    }


def _entry(tenant_id: str, client_id: str, stored: dict[str, Any]) -> Entry:
    occurred = datetime.fromisoformat(stored["occurred_at"])
    recorded = datetime.fromisoformat(stored["recorded_at"])
    source = SourceEvent(
        stored["source_event_id"],
        stored["source_service"],
        stored["type"],
        tenant_id,
        client_id,
        occurred,
        stored["stream_version"],
        {},
        recorded,
    )
    entry = Entry(stored["id"], stored["kind"], stored["type"], stored["title"], occurred, source)
    entry.__dict__["sort_key"] = stored["sort_key"]  # as derived: the source's own time is not kept
    return entry


def discharged_among(
    conn: Connection, clients: Collection[Client], tables: ProjectionTables
) -> list[Client]:
    """Those of the clients with a kept discharge: the only ones with a course outcome."""
    t = tables.source_events
    query = (
        select(t.c.tenant_id, t.c.client_id)
        .distinct()
        .where(
            t.c.tenant_id == bindparam("tenant_id"),
            one_of(t.c.client_id, "client_ids", conn.dialect.name),
            t.c.name == DISCHARGE,
        )
    )
    found: list[Client] = []
    for tenant_id, client_ids in by_tenant(clients).items():
        params = {"tenant_id": tenant_id, "client_ids": list(client_ids)}
        found += [(row.tenant_id, row.client_id) for row in conn.execute(query, params)]
    return found


def swap_in(
    conn: Connection, fresh: ProjectionTables, group: str, reached: Mapping[Position, int]
) -> dict[Position, int]:
    """Swap the fresh tables in, unless the live consumer has applied past what the rebuild read:
    then nothing changes and the offsets to read up to are returned."""
    behind = _applied_past(conn, group, reached)
    if behind:
        return behind
    for live, new in zip(LIVE.all, fresh.all, strict=True):
        live.drop(conn)
        conn.execute(text(f"ALTER TABLE {new.name} RENAME TO {live.name}"))
        _rename_constraints_and_indexes(conn, new.name, live.name, fresh.suffix)
    return {}


def _applied_past(
    conn: Connection, group: str, reached: Mapping[Position, int]
) -> dict[Position, int]:
    query = select(consumer_offsets).where(consumer_offsets.c.consumer_group == group)
    if not is_sqlite(conn):  # SQLite's BEGIN IMMEDIATE already keeps the worker out
        query = query.with_for_update()
    stored = {(r.topic, r.partition): r.next_offset for r in conn.execute(query)}
    return {p: offset for p, offset in stored.items() if offset > reached.get(p, 0)}


def _rename_constraints_and_indexes(conn: Connection, old: str, live: str, suffix: str) -> None:
    """Give the swapped-in table the live names, so the next rebuild can use the fresh ones."""
    live_table = next(t for t in LIVE.all if t.name == live)
    for index in live_table.indexes:
        conn.execute(text(f"DROP INDEX IF EXISTS {index.name}{suffix}"))
        index.create(conn)
    if not is_sqlite(conn):
        conn.execute(text(f"ALTER TABLE {live} RENAME CONSTRAINT pk_{old} TO pk_{live}"))
