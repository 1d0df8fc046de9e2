"""An idle relay waits for a commit that appended events instead of querying its outbox: SQLite's
data_version and the newest position, or a PostgreSQL notification from a trigger on `events`.
A signal only ends a wait early; every wait still ends at its timeout, so a missed signal delays
a publication and never loses one."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert

from waypoint_shared.db.database import connect, migrate, run_in_transaction
from waypoint_shared.db.tables import relay_position
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, Append, EventStore, NewEvent
from waypoint_shared.messaging import wakeup
from waypoint_shared.messaging.wakeup import Timer, Waiting, commits_of

TYPE = "waypoint.test.thing_happened.v1"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    migrate(engine, [*SHARED_MIGRATIONS, *wakeup.MIGRATIONS])
    yield engine
    engine.dispose()


def append_one(engine: Engine) -> None:
    stream = str(uuid.uuid4())
    append = Append("clinic-a", stream, stream, 0, [NewEvent(TYPE, 1, {})], {})
    run_in_transaction(engine, lambda conn: EventStore().append(conn, [append]))


def test_a_commit_ends_the_wait_at_once(engine: Engine) -> None:
    commits, stop = commits_of(engine), threading.Event()
    try:
        assert not commits.wait(stop, 0.05)  # nothing committed: the wait lasts its timeout
        threading.Timer(0.2, append_one, args=(engine,)).start()
        started = time.monotonic()
        assert commits.wait(stop, 10)
        assert time.monotonic() - started < 5
    finally:
        commits.close()


def test_a_commit_made_between_two_waits_ends_the_next_one(engine: Engine) -> None:
    commits, stop = commits_of(engine), threading.Event()
    try:
        commits.wait(stop, 0.05)
        append_one(engine)  # while the relay reads its outbox, say
        started = time.monotonic()
        assert commits.wait(stop, 10)
        assert time.monotonic() - started < 5
    finally:
        commits.close()


def test_a_commit_that_appends_no_event_leaves_the_relay_waiting(engine: Engine) -> None:
    """A consumer's batch, the relay's own position and its leases commit to the same database;
    none of them gives the relay anything to publish."""
    commits, stop = commits_of(engine), threading.Event()
    try:
        commits.wait(stop, 0.05)
        row = {"name": "some.topic", "position": 7}
        run_in_transaction(engine, lambda conn: conn.execute(insert(relay_position).values(row)))
        assert not commits.wait(stop, 0.5)
        append_one(engine)
        assert commits.wait(stop, 10)
    finally:
        commits.close()


def test_without_signals_idle_waits_grow_to_the_longest_and_shrink_when_busy() -> None:
    waiting, stop = Waiting(Timer(), shortest=0.001, longest=0.004), threading.Event()
    for expected in (0.002, 0.004, 0.004):
        waiting.idle(stop)
        assert waiting.next == expected
    waiting.busy()
    assert waiting.next == 0.001
