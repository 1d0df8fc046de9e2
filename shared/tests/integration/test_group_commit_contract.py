"""Group commit's contract, on every storage adapter (SQLite and PostgreSQL): commands waiting at
the same moment share one transaction, each isolated by a savepoint, answered after the commit."""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from waypoint_shared.db.database import read
from waypoint_shared.db.group_commit import CommitQueue
from waypoint_shared.eventstore.store import (
    Append,
    CommitObserver,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
    observe_commits,
)

TYPE = "waypoint.test.thing_happened.v1"
STORE = EventStore()


def appending(stream: str, expected: int | None, n: int = 0) -> Callable[[Connection], int]:
    def work(conn: Connection) -> int:
        batch = [Append("clinic-a", stream, stream, expected, [NewEvent(TYPE, 1, {"n": n})], {})]
        return STORE.append(conn, batch)[0].stream_version

    return work


def held_until_queued(queue: CommitQueue, waiting: int, then: Callable[[Connection], Any]) -> Any:
    """A work that holds its batch open until `waiting` more commands queue behind it."""

    def work(conn: Connection) -> Any:
        deadline = time.monotonic() + 10
        while len(queue._waiting) < waiting and time.monotonic() < deadline:
            time.sleep(0.005)
        return then(conn)

    return work


def run_together(
    queue: CommitQueue, works: Sequence[Callable[[Connection], Any]]
) -> list[tuple[str, Any]]:
    """Submit the first work, then the others while it runs: one batch. Outcomes in order."""
    outcomes: list[tuple[str, Any]] = [("pending", None)] * len(works)

    def submit(i: int, work: Callable[[Connection], Any]) -> None:
        try:
            outcomes[i] = ("ok", queue.run(work))
        except Exception as error:
            outcomes[i] = ("error", error)

    first = threading.Thread(
        target=submit, args=(0, held_until_queued(queue, len(works) - 1, works[0]))
    )
    first.start()
    while not queue._busy:
        time.sleep(0.001)
    others = [threading.Thread(target=submit, args=(i, w)) for i, w in enumerate(works) if i]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(timeout=30)
    return outcomes


def stream_versions(engine: Engine, stream: str) -> list[int]:
    with read(engine) as conn:
        return [e.stream_version for e in STORE.read_stream(conn, "clinic-a", stream)]


def test_commands_waiting_together_share_one_commit(migrated: Engine) -> None:
    queue = CommitQueue(migrated)
    streams = [str(uuid.uuid4()) for _ in range(6)]
    outcomes = run_together(queue, [appending(s, 0) for s in streams])
    assert outcomes == [("ok", 1)] * 6
    assert queue.batches == 1
    assert all(stream_versions(migrated, s) == [1] for s in streams)


def test_a_failing_command_leaves_its_neighbours_committed(migrated: Engine) -> None:
    queue = CommitQueue(migrated)
    streams = [str(uuid.uuid4()) for _ in range(5)]

    def fails_after_writing(conn: Connection) -> None:
        appending(streams[2], 0)(conn)
        raise ValueError("refused after writing")

    works: list[Callable[[Connection], Any]] = [appending(s, 0) for s in streams]
    works[2] = fails_after_writing
    outcomes = run_together(queue, works)
    assert queue.batches == 1
    assert [o[0] for o in outcomes] == ["ok", "ok", "error", "ok", "ok"]
    assert isinstance(outcomes[2][1], ValueError)
    assert [stream_versions(migrated, s) for s in streams] == [[1], [1], [], [1], [1]]


def test_a_database_error_in_one_command_leaves_its_neighbours_committed(
    migrated: Engine,
) -> None:
    """A unique violation aborts a PostgreSQL transaction; the savepoint keeps it to one
    command."""
    queue = CommitQueue(migrated)
    taken, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    queue.run(appending(taken, 0))

    def duplicate_event_id(conn: Connection) -> None:
        [first] = STORE.read_stream(conn, "clinic-a", taken)
        batch = [
            Append("clinic-a", fresh + "x", fresh, 0, [NewEvent(TYPE, 1, {})], {}, [first.event_id])
        ]
        STORE.append(conn, batch)

    outcomes = run_together(queue, [appending(fresh, 0), duplicate_event_id, appending(fresh, 1)])
    assert [o[0] for o in outcomes] == ["ok", "error", "ok"]
    assert stream_versions(migrated, fresh) == [1, 2]


def test_commands_on_one_stream_in_one_batch_see_each_other_as_if_serial(
    migrated: Engine,
) -> None:
    queue = CommitQueue(migrated)
    stream = str(uuid.uuid4())
    works = [appending(stream, 0), appending(stream, 1), appending(stream, 1), appending(stream, 2)]
    outcomes = run_together(queue, works)
    assert [o[0] for o in outcomes] == ["ok", "ok", "error", "ok"]
    assert isinstance(outcomes[2][1], ConcurrencyConflict)
    assert stream_versions(migrated, stream) == [1, 2, 3]


def test_concurrent_appends_to_one_stream_get_every_version_once_in_position_order(
    migrated: Engine,
) -> None:
    queue, stream = CommitQueue(migrated), str(uuid.uuid4())
    threads = [
        threading.Thread(target=queue.run, args=(appending(stream, None, i),)) for i in range(24)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with read(migrated) as conn:
        recorded = STORE.read_stream(conn, "clinic-a", stream)
    assert [e.stream_version for e in recorded] == list(range(1, 25))
    positions = [e.position for e in recorded]
    assert positions == sorted(positions)
    assert sorted(e.data["n"] for e in recorded) == list(range(24))


def test_each_command_runs_in_its_own_context(migrated: Engine) -> None:
    queue = CommitQueue(migrated)
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller")
    seen: dict[str, str] = {}

    def as_caller(name: str) -> Callable[[Connection], str]:
        def work(_conn: Connection) -> str:
            seen[name] = caller.get()
            return caller.get()

        return work

    results: dict[str, str] = {}

    def submit(name: str) -> None:
        caller.set(name)
        results[name] = queue.run(as_caller(name))

    threads = [threading.Thread(target=submit, args=(f"c{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == seen == {f"c{i}": f"c{i}" for i in range(8)}


def test_a_failed_command_s_events_are_not_reported_as_committed(migrated: Engine) -> None:
    reported: list[tuple[str, int]] = []

    def version(event: RecordedEvent) -> tuple[str, int]:
        return (event.stream_id, event.stream_version)

    observe_commits(migrated, CommitObserver(version, lambda _: None, reported.extend))
    queue = CommitQueue(migrated)
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())

    def fails_after_writing(conn: Connection) -> None:
        appending(dropped, 0)(conn)
        raise ValueError("refused after writing")

    outcomes = run_together(queue, [appending(kept, 0), fails_after_writing, appending(kept, 1)])
    assert [o[0] for o in outcomes] == ["ok", "error", "ok"]
    assert reported == [(kept, 1), (kept, 2)]


def test_a_failed_commit_answers_every_command_of_its_batch_with_the_error(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = CommitQueue(migrated)
    streams = [str(uuid.uuid4()) for _ in range(3)]

    def failing_commit(self: Connection) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr("sqlalchemy.engine.base.RootTransaction.commit", failing_commit)
    outcomes = run_together(queue, [appending(s, 0) for s in streams])
    monkeypatch.undo()
    assert [o[0] for o in outcomes] == ["error"] * 3
    assert all(isinstance(o[1], OSError) for o in outcomes)
    assert all(stream_versions(migrated, s) == [] for s in streams)
    assert queue.run(appending(streams[0], 0)) == 1  # the queue goes on
