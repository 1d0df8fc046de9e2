"""Publications a rebuild prepares while it derives the timelines, kept until its swap appends
them.

The processes that derive the timelines also work out what each client's derived stream, as it
is stored then, will be owed, and keep it here: a row per client with the version of the stream
they read, and the events it is owed as the events rows they will be (validated, sealed, each
with its stream version), appended at the swap by one `INSERT … SELECT` inside the database
(`still_prepared`) for every client whose derived stream is still at that version and who still
has facts and is not erased (`forget_outdated` forgets the others first). Any other client with
facts is worked out again there (`not_prepared`). Each rebuild makes the tables anew, and its
swap drops them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
)

from waypoint_progress.adapters.projection import Client, by_tenant
from waypoint_progress.adapters.tables import ProjectionTables
from waypoint_progress.domain.progress import derived_stream
from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.lists import one_of
from waypoint_shared.db.tables import erased_clients, events
from waypoint_shared.eventstore.store import ROW_COLUMNS

_metadata = MetaData()
prepared_clients = Table(
    "rebuild_prepared_clients",
    _metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("stream_id", String(64), nullable=False),  # the client's derived stream
    Column("derived_version", Integer, nullable=False),  # of that stream, as the rows follow it
    PrimaryKeyConstraint("tenant_id", "client_id", name="pk_rebuild_prepared_clients"),
)
# The events rows as they will be appended (`EventStore.rows_following`), in a client's order.
prepared_events = Table(
    "rebuild_prepared_events",
    _metadata,
    *(Column(name, events.c[name].type, nullable=False) for name in ROW_COLUMNS),
    PrimaryKeyConstraint(
        "tenant_id",
        "client_id",
        "stream_id",
        "stream_version",
        name="pk_rebuild_prepared_events",
    ),
)
_INSERT_CLIENTS = BulkInsert(prepared_clients)
_INSERT_EVENTS = BulkInsert(prepared_events)
TABLES = (prepared_clients, prepared_events)


@dataclass(frozen=True)
class Prepared:
    """A client's publications as the events rows they will be (those its timeline owes, then
    its course outcome), and the version of its derived stream they follow."""

    derived_version: int
    rows: list[dict[str, Any]] = field(default_factory=list)


def create_fresh(conn: Connection) -> None:
    """Empty tables (those of an interrupted rebuild are dropped first)."""
    drop(conn)
    for table in TABLES:
        table.create(conn)


# What a rebuild before the prepared events rows kept, one document per client; a rebuild of that
# version stopped before its swap left it behind.
_EARLIER = Table("rebuild_prepared_publications", MetaData())


def drop(conn: Connection) -> None:
    for table in (*TABLES, _EARLIER):
        table.drop(conn, checkfirst=True)


def derived_versions(conn: Connection, clients: Collection[Client]) -> dict[Client, int]:
    """The version each client's derived stream is at in the store (0 if it has no event)."""
    versions = dict.fromkeys(clients, 0)
    e = events
    query = (
        select(e.c.stream_id, func.max(e.c.stream_version))
        .where(
            e.c.tenant_id == bindparam("tenant_id"),
            one_of(e.c.stream_id, "stream_ids", conn.dialect.name),
        )
        .group_by(e.c.stream_id)
    )
    for tenant_id, client_ids in by_tenant(clients).items():
        streams = {derived_stream(c): c for c in client_ids}
        params = {"tenant_id": tenant_id, "stream_ids": sorted(streams)}
        for stream_id, version in conn.execute(query, params):
            versions[(tenant_id, streams[stream_id])] = int(version)
    return versions


def keep(conn: Connection, publications: Mapping[Client, Prepared]) -> None:
    """Keep these clients' prepared publications, in place of any kept for them before."""
    _forget(conn, publications.keys())
    _INSERT_CLIENTS(
        conn,
        [
            {
                "tenant_id": tenant_id,
                "client_id": client_id,
                "stream_id": derived_stream(client_id),
                "derived_version": p.derived_version,
            }
            for (tenant_id, client_id), p in publications.items()
        ],
    )
    _INSERT_EVENTS(conn, [row for p in publications.values() for row in p.rows])


def _forget(conn: Connection, clients: Iterable[Client]) -> None:
    for table in TABLES:
        query = delete(table).where(
            table.c.tenant_id == bindparam("tenant_id"),
            one_of(table.c.client_id, "client_ids", conn.dialect.name),
        )
        for tenant_id, client_ids in by_tenant(clients).items():
            conn.execute(query, {"tenant_id": tenant_id, "client_ids": sorted(client_ids)})


def forget_outdated(conn: Connection, tables: ProjectionTables) -> None:
    """Forget the clients whose prepared rows may no longer be appended: their derived stream
    moved since the rows were prepared, they have no facts in `tables`, or they are erased. One
    statement, its checks made once a client (`not_prepared` lists those with facts, to be
    worked out again)."""
    c = prepared_clients
    appendable = and_(
        _at_prepared_version(),
        _has_facts(tables, c.c.tenant_id, c.c.client_id),
        ~exists().where(
            erased_clients.c.tenant_id == c.c.tenant_id,
            erased_clients.c.client_id == c.c.client_id,
        ),
    )
    conn.execute(delete(c).where(~appendable))


def still_prepared() -> Select[Any]:
    """The prepared events rows of the clients kept, in each client's order: once
    `forget_outdated` has run, those to append. The query reads only the prepared tables, a
    client at a time (SQLite then streams it into the events table rather than copying it
    first, as it must when the query reads the table it appends to)."""
    c, e = prepared_clients, prepared_events
    return (
        select(*(e.c[name] for name in ROW_COLUMNS))
        .select_from(c)
        .join(e, and_(c.c.tenant_id == e.c.tenant_id, c.c.client_id == e.c.client_id))
        .order_by(c.c.tenant_id, c.c.client_id, e.c.stream_id, e.c.stream_version)
    )


def not_prepared(conn: Connection, tables: ProjectionTables) -> list[Client]:
    """The clients with facts in `tables` whose publications must be worked out again: none
    were kept for them, or their derived stream moved since."""
    s, c = tables.source_events, prepared_clients
    clients = select(s.c.tenant_id, s.c.client_id).distinct().subquery()
    kept_and_current = exists().where(
        c.c.tenant_id == clients.c.tenant_id,
        c.c.client_id == clients.c.client_id,
        _at_prepared_version(),
    )
    query = (
        select(clients.c.tenant_id, clients.c.client_id)
        .where(~kept_and_current)
        .order_by(clients.c.tenant_id, clients.c.client_id)
    )
    return [(row.tenant_id, row.client_id) for row in conn.execute(query)]


def _at_prepared_version() -> Any:
    """The client's derived stream is at the version its prepared rows follow."""
    c = prepared_clients
    stored = (
        select(func.coalesce(func.max(events.c.stream_version), 0))
        .where(events.c.tenant_id == c.c.tenant_id, events.c.stream_id == c.c.stream_id)
        .scalar_subquery()
    )
    return c.c.derived_version == stored


def _has_facts(tables: ProjectionTables, tenant_id: Any, client_id: Any) -> Any:
    s = tables.source_events
    return exists().where(s.c.tenant_id == tenant_id, s.c.client_id == client_id)
