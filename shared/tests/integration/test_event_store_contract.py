"""The event store's contract, run against every storage adapter (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Select,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.tables import events
from waypoint_shared.eventstore.store import (
    ROW_COLUMNS,
    Append,
    CommitObserver,
    ConcurrencyConflict,
    EventStore,
    InBulk,
    NewEvent,
    RecordedEvent,
    observe_commits,
)

TYPE = "waypoint.test.thing_happened.v1"


def append(
    engine: Engine, stream: str, expected: int, count: int = 1, tenant: str = "clinic-a"
) -> list[int]:
    store = EventStore()
    events = [NewEvent(TYPE, 1, {"n": i}) for i in range(count)]
    batch = [Append(tenant, stream, stream, expected, events, {"actor": "test"})]
    recorded = run_in_transaction(engine, lambda c: store.append(c, batch))
    return [r.position for r in recorded]


def test_appended_events_read_back_in_version_order_with_their_data(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, count=3)
    with read(migrated) as conn:
        events = EventStore().read_stream(conn, "clinic-a", stream)
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.data for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert all(e.occurred_at.tzinfo is not None for e in events)


def test_global_positions_only_grow(migrated: Engine) -> None:
    positions = [p for _ in range(5) for p in append(migrated, str(uuid.uuid4()), 0, count=2)]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)


def test_appending_at_a_stale_version_is_a_conflict(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0)
    with pytest.raises(ConcurrencyConflict):
        append(migrated, stream, 0)
    with read(migrated) as conn:
        assert len(EventStore().read_stream(conn, "clinic-a", stream)) == 1


def test_two_concurrent_appends_at_the_same_version_one_wins_one_conflicts(
    migrated: Engine,
) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0)
    barrier, outcomes = threading.Barrier(2), []

    def writer() -> None:
        barrier.wait()
        try:
            append(migrated, stream, 1)
            outcomes.append("ok")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]


def appends_of(*streams: tuple[str, int, int]) -> list[Append]:
    """(stream, expected version, how many events) as appends of one call."""
    return [
        Append(
            "clinic-a",
            stream,
            stream,
            expected,
            [NewEvent(TYPE, 1, {"n": i}) for i in range(n)],
            {},
        )
        for stream, expected, n in streams
    ]


def test_appends_to_several_streams_at_once_get_positions_in_their_order(migrated: Engine) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    append(migrated, first, 0)
    batch = appends_of((first, 1, 2), (second, 0, 1), (first, 3, 1))

    recorded = run_in_transaction(migrated, lambda c: EventStore().append(c, batch))

    assert [(r.stream_id, r.stream_version) for r in recorded] == [
        (first, 2),
        (first, 3),
        (second, 1),
        (first, 4),
    ]
    assert [r.position for r in recorded] == sorted({r.position for r in recorded})
    with read(migrated) as conn:
        stored = EventStore().read_stream(conn, "clinic-a", first)
    assert [(e.position, e.stream_version) for e in stored][1:] == [
        (r.position, r.stream_version) for r in recorded if r.stream_id == first
    ]


def test_a_large_append_gives_each_event_the_position_it_is_stored_at(migrated: Engine) -> None:
    streams = [str(uuid.uuid4()) for _ in range(600)]
    batch = appends_of(*((stream, 0, 1 + i % 3) for i, stream in enumerate(streams)))

    recorded = run_in_transaction(migrated, lambda c: EventStore().append(c, batch))

    with read(migrated) as conn:
        stored = EventStore().read_streams(conn, "clinic-a", streams)
    by_position = {e.position: e for events in stored.values() for e in events}
    assert len(recorded) == len(by_position) == sum(1 + i % 3 for i in range(len(streams)))
    for r in recorded:
        held = by_position[r.position]
        assert (held.event_id, held.stream_id, held.stream_version) == (
            r.event_id,
            r.stream_id,
            r.stream_version,
        )
        assert held.data == r.data


def test_streams_read_at_once_are_each_in_version_order(migrated: Engine) -> None:
    first, second, empty = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    batch = appends_of((first, 0, 2), (second, 0, 1), (first, 2, 1))
    run_in_transaction(migrated, lambda c: EventStore().append(c, batch))

    with read(migrated) as conn:
        streams = EventStore().read_streams(conn, "clinic-a", [first, second, empty])
        other_tenant = EventStore().read_streams(conn, "clinic-b", [first])
        one_by_one = {s: EventStore().read_stream(conn, "clinic-a", s) for s in streams}

    assert streams == one_by_one
    assert [e.stream_version for e in streams[first]] == [1, 2, 3]
    assert streams[empty] == [] and other_tenant == {first: []}


def test_one_stale_append_among_several_writes_none_of_them(migrated: Engine) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    append(migrated, second, 0)
    batch = appends_of((first, 0, 1), (second, 0, 1))

    with pytest.raises(ConcurrencyConflict):
        run_in_transaction(migrated, lambda c: EventStore().append(c, batch))

    with read(migrated) as conn:
        assert EventStore().read_stream(conn, "clinic-a", first) == []


def held_ids(engine: Engine, stream: str, tenant: str = "clinic-a") -> list[str]:
    with read(engine) as conn:
        return [e.event_id for e in EventStore().read_stream(conn, tenant, stream)]


def keyed(tenant: str, stream: str, event_ids: list[str]) -> Append:
    """An append of events with these ids, after whatever version the stream is at."""
    events = [NewEvent(TYPE, 1, {"n": i}) for i in range(len(event_ids))]
    return Append(tenant, stream, stream, None, events, {}, event_ids)


def test_append_if_not_stored_leaves_out_the_event_ids_the_store_holds(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, count=2)
    held, unknown = held_ids(migrated, stream), str(uuid.uuid4())
    batch = [keyed("clinic-a", stream, [*held, unknown])]

    recorded = run_in_transaction(
        migrated, lambda c: EventStore().append(c, batch, skip_stored=True)
    )

    assert [(r.event_id, r.stream_version) for r in recorded] == [(unknown, 3)]
    assert held_ids(migrated, stream) == [*held, unknown]
    nothing = run_in_transaction(migrated, lambda c: EventStore().append(c, [], skip_stored=True))
    assert nothing == []


def test_append_if_not_stored_writes_an_id_given_twice_in_one_call_once(migrated: Engine) -> None:
    first, second, event_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    batch = [keyed("clinic-a", first, [event_id]), keyed("clinic-a", second, [event_id])]

    recorded = run_in_transaction(
        migrated, lambda c: EventStore().append(c, batch, skip_stored=True)
    )

    assert [(r.stream_id, r.event_id) for r in recorded] == [(first, event_id)]
    again = run_in_transaction(migrated, lambda c: EventStore().append(c, batch, skip_stored=True))
    assert again == []


def test_an_append_without_expected_version_follows_whatever_the_stream_holds(
    migrated: Engine,
) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, count=2)
    batch = [keyed("clinic-a", stream, [str(uuid.uuid4())]) for _ in range(2)]

    recorded = run_in_transaction(migrated, lambda c: EventStore().append(c, batch))

    assert [r.stream_version for r in recorded] == [3, 4]


def test_an_append_names_an_id_for_every_event_or_none() -> None:
    stream = str(uuid.uuid4())
    events = [NewEvent(TYPE, 1, {}), NewEvent(TYPE, 1, {})]
    with pytest.raises(ValueError):
        Append("clinic-a", stream, stream, 0, events, {}, [str(uuid.uuid4())])


def test_two_tenants_hold_streams_of_the_same_id_independently(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, count=2)
    append(migrated, stream, 0, tenant="clinic-b")
    append(migrated, stream, 1, tenant="clinic-b")
    with read(migrated) as conn:
        a = EventStore().read_stream(conn, "clinic-a", stream)
        b = EventStore().read_stream(conn, "clinic-b", stream)
    assert [(e.tenant_id, e.stream_version) for e in a] == [("clinic-a", 1), ("clinic-a", 2)]
    assert [(e.tenant_id, e.stream_version) for e in b] == [("clinic-b", 1), ("clinic-b", 2)]


def test_a_conflict_names_the_tenant_of_the_stream(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, tenant="clinic-b")
    with pytest.raises(ConcurrencyConflict) as conflict:
        append(migrated, stream, 0, tenant="clinic-b")
    assert (conflict.value.tenant_id, conflict.value.actual) == ("clinic-b", 1)


def test_another_tenants_versions_and_event_ids_are_not_seen(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0, count=3)
    held = held_ids(migrated, stream)
    store = EventStore()

    ours = run_in_transaction(
        migrated, lambda c: store.append(c, [keyed("clinic-a", stream, [str(uuid.uuid4())])])
    )
    theirs = run_in_transaction(
        migrated, lambda c: store.append(c, [keyed("clinic-b", stream, [str(uuid.uuid4())])])
    )
    assert [r.stream_version for r in ours] == [4]
    assert [r.stream_version for r in theirs] == [1]
    # clinic-a's ids are not seen as stored for clinic-b: they are not left out, so the store's
    # unique event id refuses them
    batch = [keyed("clinic-b", stream, held)]
    with pytest.raises(ConcurrencyConflict):
        run_in_transaction(migrated, lambda c: store.append(c, batch, skip_stored=True))


def test_another_tenants_stream_reads_as_empty(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0)
    with read(migrated) as conn:
        assert EventStore().read_stream(conn, "clinic-b", stream) == []


def test_a_stream_can_be_read_as_of_a_past_time(migrated: Engine) -> None:
    stream = str(uuid.uuid4())
    append(migrated, stream, 0)
    with read(migrated) as conn:
        first = EventStore().read_stream(conn, "clinic-a", stream)[0].occurred_at
    append(migrated, stream, 1)
    with read(migrated) as conn:
        then = EventStore().read_stream(conn, "clinic-a", stream, until=first)
        before = EventStore().read_stream(
            conn, "clinic-a", stream, until=first - timedelta(seconds=1)
        )
    assert [e.stream_version for e in then] == [1]
    assert before == []
    assert first <= datetime.now(UTC)


def test_the_relay_feed_returns_events_after_a_position_in_order(migrated: Engine) -> None:
    positions = append(migrated, str(uuid.uuid4()), 0, count=4)
    with read(migrated) as conn:
        after = EventStore().read_after(conn, positions[1], limit=10)
    assert [e.position for e in after] == positions[2:]


def test_a_duplicate_event_id_is_refused(migrated: Engine) -> None:
    store, event_id = EventStore(), str(uuid.uuid4())

    def once(conn: Connection, stream: str) -> list[RecordedEvent]:
        batch = [Append("clinic-a", stream, stream, 0, [NewEvent(TYPE, 1, {})], {}, [event_id])]
        return store.append(conn, batch)

    run_in_transaction(migrated, lambda c: once(c, str(uuid.uuid4())))
    with pytest.raises(ConcurrencyConflict):
        run_in_transaction(migrated, lambda c: once(c, str(uuid.uuid4())))


kept_rows = Table(
    "test_kept_rows",
    MetaData(),
    Column("kept_order", Integer, nullable=False),
    *(Column(name, events.c[name].type, nullable=False) for name in ROW_COLUMNS),
)


def keep_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """The rows in a table of their own, numbered in their order."""

    def work(conn: Connection) -> None:
        kept_rows.drop(conn, checkfirst=True)
        kept_rows.create(conn)
        conn.execute(insert(kept_rows), [{**r, "kept_order": i} for i, r in enumerate(rows)])

    run_in_transaction(engine, work)


def kept_in_order() -> Select[Any]:
    return select(*(kept_rows.c[name] for name in ROW_COLUMNS)).order_by(kept_rows.c.kept_order)


def test_rows_kept_now_are_appended_later_by_one_query_in_its_order(migrated: Engine) -> None:
    store, stream, other = EventStore(), str(uuid.uuid4()), str(uuid.uuid4())
    append(migrated, stream, 0, count=2)
    batch = [keyed("clinic-a", stream, [str(uuid.uuid4()) for _ in range(3)])]
    batch.append(keyed("clinic-a", other, [str(uuid.uuid4())]))
    with read(migrated) as conn:
        rows = store.rows_following(conn, batch, {("clinic-a", stream): 2})
    keep_rows(migrated, rows)
    kept_at = datetime.now(UTC)

    appended = run_in_transaction(migrated, lambda c: store.append_selected(c, kept_in_order()))

    assert appended == 4
    with read(migrated) as conn:
        ours = store.read_stream(conn, "clinic-a", stream)[2:]
        theirs = store.read_stream(conn, "clinic-a", other)
    assert [(e.stream_version, e.data) for e in ours] == [
        (3, {"n": 0}),
        (4, {"n": 1}),
        (5, {"n": 2}),
    ]
    assert [e.stream_version for e in theirs] == [1]
    positions = [e.position for e in [*ours, *theirs]]
    assert positions == sorted(positions)
    assert all(e.occurred_at >= kept_at - timedelta(seconds=1) for e in [*ours, *theirs])


def test_rows_kept_leave_out_the_ids_the_store_holds_and_follow_the_version_given(
    migrated: Engine,
) -> None:
    store, stream = EventStore(), str(uuid.uuid4())
    append(migrated, stream, 0, count=2)
    held, new = held_ids(migrated, stream), str(uuid.uuid4())
    batch = [keyed("clinic-a", stream, [held[1], new, new])]

    with read(migrated) as conn:
        rows = store.rows_following(conn, batch, {("clinic-a", stream): 2})
        stale = [Append("clinic-a", stream, stream, 1, [NewEvent(TYPE, 1, {})], {})]
        with pytest.raises(ConcurrencyConflict):
            store.rows_following(conn, stale, {("clinic-a", stream): 2})

    assert [(r["event_id"], r["stream_version"]) for r in rows] == [(new, 3)]
    assert "position" not in rows[0] and "occurred_at" not in rows[0]


def test_a_kept_row_whose_version_was_taken_meanwhile_appends_nothing(migrated: Engine) -> None:
    store, stream = EventStore(), str(uuid.uuid4())
    batch = [keyed("clinic-a", stream, [str(uuid.uuid4()), str(uuid.uuid4())])]
    with read(migrated) as conn:
        rows = store.rows_following(conn, batch, {})
    keep_rows(migrated, rows)
    append(migrated, stream, 0)  # version 1 is taken before the kept rows are appended

    with pytest.raises(IntegrityError):
        run_in_transaction(migrated, lambda c: store.append_selected(c, kept_in_order()))

    with read(migrated) as conn:
        assert len(store.read_stream(conn, "clinic-a", stream)) == 1


def test_rows_appended_by_a_query_reach_the_commit_observers_by_tenant_stream_type_and_data(
    migrated: Engine,
) -> None:
    store, stream = EventStore(), str(uuid.uuid4())
    reported: list[tuple[str, str, str, int]] = []

    def noted(event: InBulk) -> tuple[str, str, str, int] | None:
        if event.stream_id != stream:
            return None
        return (event.tenant_id, event.stream_id, event.type, event.data["n"])

    observer = CommitObserver(lambda _: None, noted, lambda notes: reported.extend(notes))
    observe_commits(migrated, observer)
    batch = [keyed("clinic-a", stream, [str(uuid.uuid4()) for _ in range(2)])]
    with read(migrated) as conn:
        keep_rows(migrated, store.rows_following(conn, batch, {}))

    run_in_transaction(migrated, lambda c: store.append_selected(c, kept_in_order()))

    assert reported == [("clinic-a", stream, TYPE, 0), ("clinic-a", stream, TYPE, 1)]


def test_an_observer_notes_events_appended_in_bulk_apart_from_the_others(
    migrated: Engine,
) -> None:
    store, stream = EventStore(), str(uuid.uuid4())
    reported: list[tuple[tuple[str, str], int]] = []

    def note_as(how: str) -> Callable[[RecordedEvent | InBulk], tuple[str, str] | None]:
        return lambda event: (how, event.type) if event.stream_id == stream else None

    observer = CommitObserver(
        note_as("one by one"), note_as("in bulk"), lambda notes: reported.extend(notes.items())
    )
    observe_commits(migrated, observer)
    batch = [keyed("clinic-a", stream, [str(uuid.uuid4()) for _ in range(3)])]
    with read(migrated) as conn:
        keep_rows(migrated, store.rows_following(conn, batch, {}))

    run_in_transaction(migrated, lambda c: store.append_selected(c, kept_in_order()))
    append(migrated, stream, 3)

    assert reported == [(("in bulk", TYPE), 3), (("one by one", TYPE), 1)]
