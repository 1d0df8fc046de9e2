"""`BulkInsert` stores rows exactly as SQLAlchemy's own insert does, on every storage adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.database import read, run_in_transaction

KINDS: dict[str, sa.types.TypeEngine[Any]] = {
    "key": sa.String(64),
    "at": sa.DateTime(timezone=True),
    "n": sa.Integer(),
    "js": sa.JSON(),
}
# Every kind of column the projection writes: text, zoned date-times (one nullable), JSON.
COLUMNS = ("tenant_id key", "id key", "type key", "at at", "maybe_at at", "n n", "facts js")
METADATA = sa.MetaData()
THINGS = sa.Table(
    "bulk_things",
    METADATA,
    *(sa.Column(n, KINDS[k], nullable=n == "maybe_at") for n, k in map(str.split, COLUMNS)),
    sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_bulk_things"),
)
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def row(tenant: str, some_id: str, n: int = 1, **facts: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "id": some_id,
        "type": "session",
        "at": AT + timedelta(minutes=n),
        "maybe_at": None if n % 2 else AT,
        "n": n,
        "facts": {"score": n, "items": [1, 2, 3], "note": None, **facts},
    }


@pytest.fixture
def things(migrated: Engine) -> Engine:
    METADATA.create_all(migrated)
    return migrated


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    with read(engine) as conn:
        return [tuple(r) for r in conn.execute(select(THINGS).order_by(THINGS.c.id))]


def test_rows_read_back_as_sqlalchemy_stores_them(things: Engine) -> None:
    rows = [row("clinic-a", f"a{n}", n, kind="é ✓") for n in range(5)]
    run_in_transaction(things, lambda c: BulkInsert(THINGS)(c, rows))
    ours = stored(things)
    run_in_transaction(things, lambda c: c.execute(THINGS.delete()))
    run_in_transaction(things, lambda c: c.execute(insert(THINGS), rows))
    assert ours == stored(things)
    assert len(ours) == 5


def test_unless_key_leaves_rows_already_there_and_repeats_in_the_batch(things: Engine) -> None:
    writer = BulkInsert(THINGS, unless_key=("tenant_id", "id"))
    run_in_transaction(things, lambda c: writer(c, [row("clinic-a", "x", 1, first=True)]))
    again = [row("clinic-a", "x", 2), row("clinic-b", "x", 3), row("clinic-b", "x", 5)]
    run_in_transaction(things, lambda c: writer(c, again))
    assert [(r[0], r[1], r[5], r[6].get("first")) for r in stored(things)] == [
        ("clinic-a", "x", 1, True),
        ("clinic-b", "x", 3, None),
    ]


def test_a_refused_row_raises_sqlalchemys_error_and_writes_nothing(things: Engine) -> None:
    rows = [row("clinic-a", "y", 1), row("clinic-a", "y", 2)]
    with pytest.raises(IntegrityError):
        run_in_transaction(things, lambda c: BulkInsert(THINGS)(c, rows))
    assert stored(things) == []


def test_no_rows_is_no_statement(things: Engine) -> None:
    run_in_transaction(things, lambda c: BulkInsert(THINGS)(c, []))
    assert stored(things) == []


def test_times_are_stored_as_the_very_text_sqlalchemy_writes(things: Engine) -> None:
    """Whole seconds, another zone and a naive time: the same stored text, not only equal
    values once read back (sort orders and string comparisons in SQL see the text)."""
    moments = [
        AT.replace(microsecond=0),
        AT.astimezone(timezone(timedelta(hours=2))),
        datetime(999, 1, 2),
    ]
    rows = [{**row("clinic-a", f"t{n}", n), "at": at} for n, at in enumerate(moments)]
    as_text = select(sa.cast(THINGS.c.at, sa.String)).order_by(THINGS.c.id)

    def texts() -> list[str]:
        with read(things) as conn:
            return list(conn.execute(as_text).scalars())

    run_in_transaction(things, lambda c: BulkInsert(THINGS)(c, rows))
    ours = texts()
    run_in_transaction(things, lambda c: c.execute(THINGS.delete()))
    run_in_transaction(things, lambda c: c.execute(insert(THINGS), rows))
    assert ours == texts()
