"""A database projected before facts had two times gets them from `progress-0003`: the time it
kept becomes the recorded time, and each fact's clinical time is taken from its facts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.tables import MIGRATIONS
from waypoint_shared.db.database import connect, migrate, read

CLIENT = str(uuid.uuid4())
KEPT_AT = datetime(2025, 3, 4, 9, 0, 1, tzinfo=UTC)


@pytest.fixture
def before_clinical_time(tmp_path: Path) -> Iterator[Engine]:
    """Progress's tables as the first two migrations made them, with a session and a referral
    kept at the time they were recorded."""
    engine = connect("sqlite:///" + str(tmp_path / "progress.db"))
    migrate(engine, MIGRATIONS[:2])
    rows = [
        ("session_recorded", "progress", '{"date": "2025-02-25", "attended": true}'),
        ("client_referred", "intake", "{}"),
    ]
    with engine.begin() as conn:
        for name, service, facts in rows:
            conn.execute(
                text(
                    "INSERT INTO source_events (tenant_id, event_id, client_id, service, name,"
                    " occurred_at, stream_version, facts) VALUES ('clinic-a', :id, :client,"
                    " :service, :name, :at, 1, :facts)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "client": CLIENT,
                    "service": service,
                    "name": name,
                    "at": KEPT_AT,
                    "facts": facts,
                },
            )
    yield engine
    engine.dispose()


def test_the_kept_time_becomes_the_recorded_time_and_the_session_date_the_clinical_time(
    before_clinical_time: Engine,
) -> None:
    applied = migrate(before_clinical_time, MIGRATIONS)

    with read(before_clinical_time) as conn:
        facts = {f.name: f for f in projection.facts_of(conn, "clinic-a", CLIENT)}
    assert applied == ["progress-0003-clinical-and-recorded-time", "progress-0004-a-timeline-a-row"]
    assert facts["session_recorded"].occurred_at == datetime(2025, 2, 25, tzinfo=UTC)
    assert facts["client_referred"].occurred_at == KEPT_AT  # a v1 referral has no date
    assert {f.recorded_at for f in facts.values()} == {KEPT_AT}
