"""A prepared statement writes and reads what `Connection.execute` writes and reads, on every
storage adapter, raises SQLAlchemy's errors, and outside a transaction leaves the work to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.prepared import Prepared
from waypoint_shared.db.tables import data_keys, events

WHEN = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def event_row(**changes: object) -> dict[str, object]:
    stream = str(uuid.uuid4())
    row = {
        "event_id": str(uuid.uuid4()),
        "tenant_id": "clinic-a",
        "stream_id": stream,
        "stream_version": 1,
        "client_id": stream,
        "type": "waypoint.test.thing_happened.v1",
        "schema_version": 1,
        "occurred_at": WHEN,
        "data": {"n": 1, "names": ["a", "ü"], "none": None},
        "metadata": {"actor": "test"},
    }
    return {**row, **changes}


def test_a_prepared_insert_stores_what_execute_stores(migrated: Engine) -> None:
    prepared = Prepared(insert(events).returning(events.c.position))
    by_driver, by_execute = event_row(), event_row()
    [(first,)] = run_in_transaction(migrated, lambda c: prepared.rows(c, by_driver))
    second = run_in_transaction(
        migrated,
        lambda c: c.execute(insert(events).returning(events.c.position), by_execute).scalar(),
    )
    with read(migrated) as conn:
        rows = {r.position: r._asdict() for r in conn.execute(select(events))}
    stored, expected = rows[first], rows[second]
    for name in ("event_id", "stream_id", "client_id", "position"):
        stored.pop(name), expected.pop(name)
    assert stored == expected
    assert isinstance(first, int)


def test_a_prepared_select_reads_what_execute_reads(migrated: Engine) -> None:
    row = {
        "tenant_id": "clinic-a",
        "client_id": "c-1",
        "wrapped_key": b"\x00\x01",
        "created_at": WHEN,
    }
    run_in_transaction(migrated, lambda c: c.execute(insert(data_keys), row))
    query = select(data_keys.c.wrapped_key, data_keys.c.created_at).where(
        data_keys.c.client_id == "c-1"
    )
    prepared = run_in_transaction(migrated, lambda c: Prepared(query).rows(c, {}))
    with read(migrated) as conn:
        executed = [tuple(r) for r in conn.execute(query)]
    assert prepared == executed
    assert isinstance(prepared[0][0], bytes)


def test_a_prepared_statement_raises_sqlalchemys_errors(migrated: Engine) -> None:
    prepared = Prepared(insert(events).returning(events.c.position))
    row = event_row()
    run_in_transaction(migrated, lambda c: prepared.rows(c, row))
    with pytest.raises(IntegrityError):
        run_in_transaction(migrated, lambda c: prepared.rows(c, {**row, "event_id": "other"}))


def test_outside_a_transaction_the_connection_runs_it(migrated: Engine) -> None:
    with migrated.connect() as conn:
        assert not conn.in_transaction()
        assert Prepared(select(events.c.position).limit(1)).rows(conn, {}) == []
        assert conn.in_transaction()  # begun by SQLAlchemy, which knows to end it
