"""Reading and writing the projection tables: a client's facts in, its timeline out."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    delete,
    select,
    union_all,
)

from waypoint_progress.adapters.tables import LIVE, ProjectionTables, iso
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.standing import STANDING_EVENTS, ClientStanding
from waypoint_progress.domain.timeline import Entry
from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.database import stored_utc
from waypoint_shared.db.lists import one_of
from waypoint_shared.db.prepared import Prepared

Client = tuple[str, str]  # (tenant id, client id)


def by_tenant(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """(tenant, id) pairs grouped by tenant, so each query uses the tables' tenant-first keys."""
    grouped: dict[str, set[str]] = {}
    for tenant_id, some_id in pairs:
        grouped.setdefault(tenant_id, set()).add(some_id)
    return grouped


def remember(
    conn: Connection, sources: Sequence[SourceEvent], tables: ProjectionTables = LIVE
) -> None:
    """Keep the facts of the events not kept before, in one statement: a fact already kept
    (same tenant and event id) stays as it is."""
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for s in sources:
        fresh.setdefault((s.tenant_id, s.event_id), _fact_row(s))
    if fresh:
        _writers(tables).facts(conn, list(fresh.values()))


@dataclass(frozen=True)
class _Writers:
    """The bulk inserts of one set of projection tables."""

    facts: BulkInsert  # a fact already kept (same tenant and event id) is left as it is
    timelines: BulkInsert


@functools.cache
def _writers(tables: ProjectionTables) -> _Writers:
    return _Writers(
        BulkInsert(tables.source_events, unless_key=("tenant_id", "event_id")),
        BulkInsert(tables.timelines),
    )


@dataclass(frozen=True)
class _Queries:
    """The statements that read and delete by a list of clients, built once per set of projection
    tables and dialect: built per call, they were two fifths of the time of a batch of one
    event."""

    # a tenant's kept facts of the clients in `client_ids`, run on the driver's cursor (a
    # rebuild reads every fact back through it), as is every statement a batch runs
    facts_of_clients: Prepared
    # those, and the tenant's kept facts whose event id is in `event_ids`
    facts_of_clients_or_events: Prepared
    # a tenant's timelines of the clients in `client_ids`
    delete_timelines: Prepared
    # and those timelines read
    timelines_of_clients: Select[Any]


@functools.cache
def _queries(tables: ProjectionTables, dialect: str) -> _Queries:
    facts, timeline = tables.source_events, tables.timelines
    in_tenant = facts.c.tenant_id == bindparam("tenant_id")
    of_clients = select(facts).where(in_tenant, one_of(facts.c.client_id, "client_ids", dialect))
    # Two selects, each on its own index: with `client IN … OR event IN …` SQLite reads every
    # row of the tenant (its plan keeps only `tenant_id = ?`), a batch's cost growing with the
    # table. A fact found by both is taken once.
    of_events = select(facts).where(in_tenant, one_of(facts.c.event_id, "event_ids", dialect))
    return _Queries(
        Prepared(of_clients),
        Prepared(union_all(of_clients, of_events)),
        Prepared(
            delete(timeline).where(
                timeline.c.tenant_id == bindparam("tenant_id"),
                one_of(timeline.c.client_id, "client_ids", dialect),
            )
        ),
        select(timeline.c.client_id, timeline.c.entries).where(
            timeline.c.tenant_id == bindparam("tenant_id"),
            one_of(timeline.c.client_id, "client_ids", dialect),
        ),
    )


def _fact_row(event: SourceEvent) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "event_id": event.event_id,
        "client_id": event.client_id,
        "service": event.service,
        "name": event.name,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded,
        "stream_version": event.stream_version,
        "facts": dict(event.facts),
    }


def has_client(
    conn: Connection, tenant_id: str, client_id: str, tables: ProjectionTables = LIVE
) -> bool:
    """Whether any fact of the client is kept in the tenant."""
    t = tables.source_events
    query = select(t.c.event_id).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id)
    return conn.execute(query.limit(1)).first() is not None


def clients(conn: Connection, tables: ProjectionTables = LIVE) -> list[Client]:
    """Every client with a kept fact, as (tenant, client) pairs."""
    t = tables.source_events
    query = select(t.c.tenant_id, t.c.client_id).distinct().order_by(t.c.tenant_id, t.c.client_id)
    return [(row.tenant_id, row.client_id) for row in conn.execute(query)]


def facts_of(
    conn: Connection, tenant_id: str, client_id: str, tables: ProjectionTables = LIVE
) -> list[SourceEvent]:
    """Every kept source event of a client (in no particular order: the domain sorts them)."""
    return facts_of_clients(conn, [(tenant_id, client_id)], tables)[(tenant_id, client_id)]


def facts_of_clients(
    conn: Connection, clients: Collection[Client], tables: ProjectionTables = LIVE
) -> dict[Client, list[SourceEvent]]:
    """Every kept source event of each of these clients, by client."""
    history: dict[Client, list[SourceEvent]] = {client: [] for client in clients}
    query = _queries(tables, conn.dialect.name).facts_of_clients
    for tenant_id, client_ids in by_tenant(clients).items():
        params = {"tenant_id": tenant_id, "client_ids": list(client_ids)}
        for row in query.rows(conn, params):
            history[(tenant_id, row[2])].append(_fact(*row))
    return history


def keep_and_read(
    conn: Connection, sources: Sequence[SourceEvent], tables: ProjectionTables = LIVE
) -> dict[Client, list[SourceEvent]]:
    """`remember` the facts, and return every kept fact of their clients, as `facts_of_clients`
    would read them after it: those kept before (one query, before the insert, which also finds
    the new facts whose tenant and event id are kept already, for this client or another: those
    stay as they were) and the new facts the insert keeps, without reading them back."""
    history: dict[Client, list[SourceEvent]] = {(s.tenant_id, s.client_id): [] for s in sources}
    held: set[tuple[str, str]] = set()
    query = _queries(tables, conn.dialect.name).facts_of_clients_or_events
    for tenant_id, client_ids in by_tenant(history).items():
        event_ids = sorted({s.event_id for s in sources if s.tenant_id == tenant_id})
        params = {"tenant_id": tenant_id, "client_ids": list(client_ids), "event_ids": event_ids}
        for row in query.rows(conn, params):  # the facts table's columns in order
            kept, client = (row[0], row[1]), (row[0], row[2])
            if kept in held:
                continue
            held.add(kept)
            if client in history:
                history[client].append(_fact(*row))
    for s in sources:  # the first of a repeated event id is the one kept, as in `remember`
        if (s.tenant_id, s.event_id) not in held:
            held.add((s.tenant_id, s.event_id))
            history[(s.tenant_id, s.client_id)].append(s)
    remember(conn, sources, tables)
    return history


def client_of_session(
    conn: Connection, tenant_id: str, session_id: str, tables: ProjectionTables = LIVE
) -> str | None:
    """The client of this tenant whose kept session has that id (a scan of the tenant's
    sessions); None if none has."""
    t = tables.source_events
    query = select(t.c.client_id, t.c.facts).where(
        t.c.tenant_id == tenant_id, t.c.name == "session_recorded"
    )
    found = (
        row.client_id for row in conn.execute(query) if row.facts.get("session_id") == session_id
    )
    return next(found, None)


def standing_of(conn: Connection, tenant_id: str, client_id: str) -> ClientStanding:
    """What intake has told progress of a client in this tenant (referral, treatment consent,
    discharge), from the kept facts; another tenant's events of the same id are not seen."""
    t = LIVE.source_events
    query = select(t).where(
        t.c.tenant_id == tenant_id,
        t.c.client_id == client_id,
        t.c.service == "intake",
        t.c.name.in_(STANDING_EVENTS),
    )
    return ClientStanding.from_intake(client_id, [_fact(*row) for row in conn.execute(query)])


def _fact(
    tenant_id: str,
    event_id: str,
    client_id: str,
    service: str,
    name: str,
    occurred_at: datetime,
    recorded_at: datetime,
    stream_version: int,
    facts: dict[str, Any],
) -> SourceEvent:
    """A row of the facts table, its columns in order, as the source event it keeps."""
    return SourceEvent(
        event_id,
        service,
        name,
        tenant_id,
        client_id,
        stored_utc(occurred_at),
        stream_version,
        facts,
        stored_utc(recorded_at),
    )


def replace_timelines(
    conn: Connection,
    timelines: Mapping[Client, Sequence[Entry]],
    tables: ProjectionTables = LIVE,
) -> None:
    """Make each client's stored timeline exactly the derived one."""
    query = _queries(tables, conn.dialect.name).delete_timelines
    for tenant_id, client_ids in by_tenant(timelines).items():
        query.rows(conn, {"tenant_id": tenant_id, "client_ids": list(client_ids)})
    insert_timelines(conn, timelines, tables)


def insert_timelines(
    conn: Connection,
    timelines: Mapping[Client, Sequence[Entry]],
    tables: ProjectionTables = LIVE,
) -> None:
    """Store the timelines of clients that have none stored, a row a client."""
    rows = [
        {"tenant_id": tenant_id, "client_id": client_id, "entries": _documents(entries)}
        for (tenant_id, client_id), entries in timelines.items()
    ]
    _writers(tables).timelines(conn, rows)


def _documents(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Each entry as its client's row keeps it, its times as its source event's written ones
    (`SourceEvent.written_times`, made once per source event)."""
    documents = []
    for entry in entries:
        source = entry.source
        occurred_at, recorded_at = source.written_times
        if entry.occurred_at != source.occurred_at:  # not the source's clinical time
            occurred_at = iso(entry.occurred_at)
        documents.append(_document(entry, occurred_at, recorded_at))
    return documents


def _document(entry: Entry, occurred_at: str, recorded_at: str) -> dict[str, Any]:
    """A timeline entry as its client's row keeps it (`tables.ENTRY_FIELDS`), its times as
    `iso` writes them."""
    source = entry.source
    return {
        "id": entry.id,
        "kind": entry.kind,
        "type": entry.type,
        "title": entry.title,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "source_service": source.service,
        "source_event_id": source.event_id,
        "stream_version": source.stream_version,
        "sort_key": entry.sort_key,
    }


def stored_timelines(
    conn: Connection, clients: Collection[Client], tables: ProjectionTables = LIVE
) -> dict[Client, list[dict[str, Any]]]:
    """The stored timelines of these clients that have one, each its entries in timeline order
    as `document` wrote them."""
    query = _queries(tables, conn.dialect.name).timelines_of_clients
    found: dict[Client, list[dict[str, Any]]] = {}
    for tenant_id, client_ids in by_tenant(clients).items():
        params = {"tenant_id": tenant_id, "client_ids": list(client_ids)}
        for row in conn.execute(query, params):
            found[(tenant_id, row.client_id)] = row.entries
    return found


def forget(conn: Connection, tenant_id: str, client_id: str, tables: ProjectionTables) -> None:
    """Delete an erased client's facts and timeline."""
    for t in tables.all:
        conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id))
