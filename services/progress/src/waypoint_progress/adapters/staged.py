"""Publications a rebuild prepares while it derives the timelines, kept until its swap appends
them.

The processes that derive the timelines also work out what each client's derived stream, as it
is stored then, will be owed, and keep it here in its stored form (validated and encoded), one row
per client with the version of the stream they read. At the swap a client whose derived stream is
still at that version gets its prepared appends as they are; any other is worked out again there.
Each rebuild makes the table anew, and its swap drops it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    delete,
    func,
    select,
)

from waypoint_progress.adapters.projection import Client, by_tenant
from waypoint_progress.domain.progress import derived_stream
from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.lists import one_of
from waypoint_shared.db.tables import events
from waypoint_shared.eventstore.store import Append, NewEvent

prepared = Table(
    "rebuild_prepared_publications",
    MetaData(),
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("derived_version", Integer, nullable=False),  # of the stream the appends follow
    Column("appends", JSON, nullable=False),  # {"owed": [...], "outcomes": [...]}, stored form
    PrimaryKeyConstraint("tenant_id", "client_id", name="pk_rebuild_prepared_publications"),
)
_INSERT = BulkInsert(prepared)


@dataclass(frozen=True)
class Prepared:
    """A client's publications in stored form: those its timeline owes, then its course outcome;
    and the version of its derived stream they follow."""

    derived_version: int
    owed: list[Append]
    outcomes: list[Append]


def create_fresh(conn: Connection) -> None:
    """An empty table (that of an interrupted rebuild is dropped first)."""
    drop(conn)
    prepared.create(conn)


def drop(conn: Connection) -> None:
    prepared.drop(conn, checkfirst=True)


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
    rows = [
        {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "derived_version": p.derived_version,
            "appends": {"owed": _documents(p.owed), "outcomes": _documents(p.outcomes)},
        }
        for (tenant_id, client_id), p in publications.items()
    ]
    _INSERT(conn, rows)


def _forget(conn: Connection, clients: Iterable[Client]) -> None:
    t = prepared
    query = delete(t).where(
        t.c.tenant_id == bindparam("tenant_id"),
        one_of(t.c.client_id, "client_ids", conn.dialect.name),
    )
    for tenant_id, client_ids in by_tenant(clients).items():
        conn.execute(query, {"tenant_id": tenant_id, "client_ids": sorted(client_ids)})


def prepared_for(conn: Connection, clients: Collection[Client]) -> dict[Client, Prepared]:
    """The publications kept prepared for these clients (those with none kept are left out)."""
    t = prepared
    query = select(t.c.client_id, t.c.derived_version, t.c.appends).where(
        t.c.tenant_id == bindparam("tenant_id"),
        one_of(t.c.client_id, "client_ids", conn.dialect.name),
    )
    found: dict[Client, Prepared] = {}
    for tenant_id, client_ids in by_tenant(clients).items():
        params = {"tenant_id": tenant_id, "client_ids": sorted(client_ids)}
        for client_id, version, appends in conn.execute(query, params):
            owed, outcomes = (_appends(tenant_id, client_id, appends[k]) for k in PARTS)
            found[(tenant_id, client_id)] = Prepared(int(version), owed, outcomes)
    return found


PARTS = ("owed", "outcomes")


def _documents(appends: Iterable[Append]) -> list[dict[str, Any]]:
    return [
        {
            "stream_id": a.stream_id,
            "metadata": dict(a.metadata),
            "events": [_stored(e) for e in a.events],
            "event_ids": list(a.event_ids),
        }
        for a in appends
    ]


def _stored(event: object) -> dict[str, Any]:
    if not isinstance(event, NewEvent):
        raise TypeError(f"not an event in its stored form: {type(event).__name__}")
    return {"type": event.type, "schema_version": event.schema_version, "data": event.data}


def _appends(tenant_id: str, client_id: str, documents: list[dict[str, Any]]) -> list[Append]:
    """The appends as kept, each after whatever version its stream is at (checked by the
    caller)."""
    return [
        Append(
            tenant_id,
            d["stream_id"],
            client_id,
            None,
            [NewEvent(**e) for e in d["events"]],
            d["metadata"],
            d["event_ids"],
        )
        for d in documents
    ]
