"""A database whose timeline kept a row an entry gets a row a client from `progress-0004`: each
client's entries in their order, times in UTC, and the API reads the same timeline as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect

from waypoint_progress.adapters.tables import MIGRATIONS, timeline_entries
from waypoint_progress.service_layer import queries
from waypoint_progress.service_layer.queries import TimelineQuery
from waypoint_shared.db.database import connect, migrate, read

TENANT, FIRST, SECOND = "clinic-a", str(uuid.uuid4()), str(uuid.uuid4())
REFERRED = datetime(2025, 3, 4, 9, 0, 1, tzinfo=UTC)
SESSION = datetime(2025, 3, 11, tzinfo=UTC)


def row(client_id: str, kind: str, entry_type: str, at: datetime, order: str) -> dict[str, object]:
    return {
        "tenant_id": TENANT,
        "id": str(uuid.uuid4()),
        "client_id": client_id,
        "kind": kind,
        "type": entry_type,
        "title": entry_type.replace("_", " "),
        "occurred_at": at,
        "recorded_at": None if kind == "milestone" else at,  # some rows kept none
        "source_service": "intake",
        "source_event_id": str(uuid.uuid4()),
        "stream_version": 1,
        "sort_key": f"{order}|r|s|v|k|row|{uuid.uuid4()}",  # seven parts, as derived
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def a_row_an_entry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Progress's tables as the first three migrations made them, with two clients' entries
    stored out of their order, on each store."""
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = "sqlite:///" + str(tmp_path / "progress.db")
    engine = connect(url)
    migrate(engine, MIGRATIONS[:3])
    rows = [
        row(FIRST, "event", "session_recorded", SESSION, "2"),
        row(FIRST, "milestone", "client_referred", REFERRED, "1b"),
        row(SECOND, "event", "client_referred", REFERRED, "1"),
        row(FIRST, "event", "client_referred", REFERRED, "1a"),
    ]
    with engine.begin() as conn:
        conn.execute(insert(timeline_entries), rows)
    yield engine
    engine.dispose()


def test_each_clients_entries_become_one_row_in_their_order(a_row_an_entry: Engine) -> None:
    applied = migrate(a_row_an_entry, MIGRATIONS)

    with read(a_row_an_entry) as conn:
        first, _ = queries.timeline(conn, TimelineQuery(TENANT, FIRST))
        second, _ = queries.timeline(conn, TimelineQuery(TENANT, SECOND))
    assert applied == ["progress-0004-a-timeline-a-row"]
    assert [(e["kind"], e["type"]) for e in first] == [
        ("event", "client_referred"),
        ("milestone", "client_referred"),
        ("event", "session_recorded"),
    ]
    assert first[1]["occurred_at"] == first[1]["recorded_at"] == REFERRED.isoformat()
    assert first[2]["occurred_at"] == "2025-03-11T00:00:00+00:00"
    assert [e["type"] for e in second] == ["client_referred"]
    assert "timeline_entries" not in inspect(a_row_an_entry).get_table_names()


def test_a_page_of_the_migrated_timeline_continues_from_its_cursor(a_row_an_entry: Engine) -> None:
    migrate(a_row_an_entry, MIGRATIONS)

    with read(a_row_an_entry) as conn:
        page, cursor = queries.timeline(conn, TimelineQuery(TENANT, FIRST, limit=2))
        rest, end = queries.timeline(conn, TimelineQuery(TENANT, FIRST, cursor=cursor, limit=2))
    assert [e["type"] for e in page + rest] == [
        "client_referred",
        "client_referred",
        "session_recorded",
    ]
    assert end is None
