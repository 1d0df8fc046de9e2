"""The audit of reads is append-only in the database itself, on every storage adapter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, Executable, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import read_audit

ROW = {
    "tenant_id": "clinic-a",
    "client_id": "2f1c7d1e-0a4e-4b8e-9d59-3f1f4b1e2a10",
    "subject": "ehr",
    "method": "GET",
    "path": "/v1/clients/2f1c7d1e-0a4e-4b8e-9d59-3f1f4b1e2a10",
    "request_id": "req-1",
}


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(read_audit)).scalar_one())


def executing(statement: Executable) -> Callable[[Connection], object]:
    return lambda conn: conn.execute(statement)


def test_a_read_record_can_be_appended_but_never_changed_or_deleted(migrated: Engine) -> None:
    run_in_transaction(
        migrated, lambda c: c.execute(insert(read_audit).values(**ROW, read_at=datetime.now(UTC)))
    )

    for statement in (update(read_audit).values(subject="someone else"), delete(read_audit)):
        with pytest.raises(DBAPIError, match="append-only"):
            run_in_transaction(migrated, executing(statement))

    assert rows(migrated) == 1
