"""shared-0004 moves a database made with the old events table (streams unique by stream id
alone) to streams unique by (tenant, stream id), on SQLite and PostgreSQL, keeping every row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    inspect,
    select,
)

from waypoint_shared.db import tables
from waypoint_shared.db.database import (
    connect,
    migrate,
    read,
    run_in_transaction,
    schema_migrations,
)
from waypoint_shared.db.tables import Position
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, Append, EventStore, NewEvent

TYPE = "waypoint.test.thing_happened.v1"
STREAM = str(uuid.uuid4())

old_events = Table(
    "events",
    MetaData(),
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("type", String(128), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
    sqlite_autoincrement=True,
)
Index("ix_events_tenant_stream", old_events.c.tenant_id, old_events.c.stream_id)


def _made_by_the_old_schema(conn: Connection) -> None:
    """shared-0001 as the previous release ran it, and three events of one stream."""
    schema_migrations.create(conn)
    old_events.create(conn)
    for table in (
        tables.relay_position,
        tables.relay_lock,
        tables.consumer_offsets,
        tables.applied_events,
        tables.idempotency_records,
        tables.data_keys,
    ):
        table.create(conn)
    conn.execute(insert(schema_migrations).values(id="shared-0001-event-store", applied_at=_now()))
    conn.execute(insert(old_events), [_row(version) for version in (1, 2, 3)])


def _now() -> datetime:
    return datetime.now(UTC)


def _row(version: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "tenant_id": "clinic-a",
        "stream_id": STREAM,
        "stream_version": version,
        "client_id": STREAM,
        "type": TYPE,
        "schema_version": 1,
        "occurred_at": _now(),
        "data": {"n": version},
        "metadata": {},
    }


@pytest.fixture
def old_database(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    run_in_transaction(engine, _made_by_the_old_schema)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with read(engine) as conn:
        query = select(tables.events).order_by(tables.events.c.position)
        return [tuple(r) for r in conn.execute(query)]


def _append(engine: Engine, tenant: str, expected: int) -> int:
    store = EventStore()
    [recorded] = run_in_transaction(
        engine,
        lambda c: store.append(
            c, [Append(tenant, STREAM, STREAM, expected, [NewEvent(TYPE, 1, {})], {})]
        ),
    )
    return recorded.position


def test_the_migration_keeps_every_row_and_makes_streams_per_tenant(old_database: Engine) -> None:
    before = _rows(old_database)

    applied = migrate(old_database, SHARED_MIGRATIONS)

    assert "shared-0004-stream-identity-with-tenant" in applied
    assert _rows(old_database) == before
    with read(old_database) as conn:
        uniques = inspect(conn).get_unique_constraints("events")
        indexes = {i["name"] for i in inspect(conn).get_indexes("events")}
    assert ["tenant_id", "stream_id", "stream_version"] in [u["column_names"] for u in uniques]
    assert ["stream_id", "stream_version"] not in [u["column_names"] for u in uniques]
    assert "ix_events_tenant_stream" not in indexes  # shared-0007: the unique index serves
    assert _append(old_database, "clinic-b", 0) > before[-1][0]  # another tenant, same stream id
    assert _append(old_database, "clinic-a", 3) > before[-1][0]


def test_a_database_made_by_the_new_schema_is_left_as_it_is(migrated: Engine) -> None:
    with read(migrated) as conn:
        done = set(conn.execute(select(schema_migrations.c.id)).scalars())
        uniques = inspect(conn).get_unique_constraints("events")
    assert "shared-0004-stream-identity-with-tenant" in done
    assert [u["column_names"] for u in uniques if "stream_version" in u["column_names"]] == [
        ["tenant_id", "stream_id", "stream_version"]
    ]
