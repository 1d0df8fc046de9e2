"""The event store: one row per event, optimistic concurrency per stream, a global position.

The events table is also the outbox: the relay publishes rows in position order. On PostgreSQL
appends take a table lock so positions commit in order and a tailing relay can never skip one
(the way the `eventsourcing` library does it); SQLite's BEGIN IMMEDIATE already serialises them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypedDict, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    MetaData,
    Select,
    bindparam,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.database import Migration, create_tables, is_sqlite, stored_utc
from waypoint_shared.db.lists import DIALECTS, one_of
from waypoint_shared.db.prepared import Prepared
from waypoint_shared.db.tables import (
    applied_events,
    consumer_offsets,
    data_keys,
    erased_clients,
    events,
    idempotency_records,
    read_audit,
    relay_lock,
    relay_position,
)

_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER read_audit_no_update BEFORE UPDATE ON read_audit "
    "BEGIN SELECT RAISE(ABORT, 'read_audit is append-only'); END",
    "CREATE TRIGGER read_audit_no_delete BEFORE DELETE ON read_audit "
    "BEGIN SELECT RAISE(ABORT, 'read_audit is append-only'); END",
)
_APPEND_ONLY_POSTGRES = (
    "CREATE FUNCTION read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'read_audit is append-only'; END $$",
    "CREATE TRIGGER read_audit_no_change BEFORE UPDATE OR DELETE ON read_audit "
    "FOR EACH ROW EXECUTE FUNCTION read_audit_append_only()",
    "CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON read_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION read_audit_append_only()",
)


def _create_privacy_tables(conn: Connection) -> None:
    """The erased-client register and the append-only audit of reads."""
    create_tables(erased_clients, read_audit)(conn)
    for statement in _APPEND_ONLY_SQLITE if is_sqlite(conn) else _APPEND_ONLY_POSTGRES:
        conn.execute(text(statement))


def _add_idempotency_subject(conn: Connection) -> None:
    """Databases made before the column existed get it; new ones already have it from 0001."""
    columns = {c["name"] for c in inspect(conn).get_columns("idempotency_records")}
    if "subject" not in columns:
        conn.execute(text("ALTER TABLE idempotency_records ADD COLUMN subject VARCHAR(36)"))


def _index_idempotency_age(conn: Connection) -> None:
    """Expired idempotency records are deleted by age on every stored reply: index the age."""
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS idempotency_records_created_at "
            "ON idempotency_records (created_at)"
        )
    )


def _stream_identity_with_tenant(conn: Connection) -> None:
    """Databases made before streams were (tenant, stream id) get the new unique constraint; the
    rows, their positions and the position sequence stay as they were."""
    uniques = inspect(conn).get_unique_constraints("events")
    old = [u for u in uniques if list(u["column_names"]) == ["stream_id", "stream_version"]]
    if not old:
        return  # made by shared-0001 as it is now
    if is_sqlite(conn):
        _rebuild_events_sqlite(conn)
        return
    conn.execute(text(f'ALTER TABLE events DROP CONSTRAINT "{old[0]["name"]}"'))
    conn.execute(
        text(
            "ALTER TABLE events ADD CONSTRAINT uq_events_tenant_stream_version "
            "UNIQUE (tenant_id, stream_id, stream_version)"
        )
    )


_KEEP_SEQUENCE = (
    "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'events') "
    "WHERE name = 'events_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events')"
)


def _rebuild_events_sqlite(conn: Connection) -> None:
    """SQLite cannot drop a constraint: make the table anew, copy the rows, drop the old one,
    rename, and make its index again (sqlite.org/lang_altertable.html, "other changes"), all in
    the migration's transaction."""
    columns = ", ".join(f'"{c.name}"' for c in events.columns)
    new = events.to_metadata(MetaData(), name="events_new")
    new.indexes.clear()
    new.create(conn)
    conn.execute(text(f"INSERT INTO events_new ({columns}) SELECT {columns} FROM events"))
    conn.execute(text(_KEEP_SEQUENCE))  # a position once given is never given again
    conn.execute(text("DROP TABLE events"))
    conn.execute(text("ALTER TABLE events_new RENAME TO events"))
    for index in events.indexes:
        index.create(conn)


def _drop_duplicate_stream_index(conn: Connection) -> None:
    """The unique (tenant_id, stream_id, stream_version) index serves every look-up of a stream;
    an index of (tenant_id, stream_id) beside it cost each appended event one more insert into
    a tree keyed by random ids."""
    conn.execute(text("DROP INDEX IF EXISTS ix_events_tenant_stream"))


SHARED_MIGRATIONS = (
    Migration(
        "shared-0001-event-store",
        create_tables(
            events,
            relay_position,
            relay_lock,
            consumer_offsets,
            applied_events,
            idempotency_records,
            data_keys,
        ),
    ),
    Migration("shared-0002-erasure-and-read-audit", _create_privacy_tables),
    Migration("shared-0003-idempotency-subject", _add_idempotency_subject),
    Migration("shared-0004-stream-identity-with-tenant", _stream_identity_with_tenant),
    Migration("shared-0005-idempotency-expiry", _index_idempotency_age),
    Migration("shared-0007-no-duplicate-stream-index", _drop_duplicate_stream_index),
)


class ConcurrencyConflict(Exception):
    """The stream (of this tenant) moved on since the caller read it."""

    def __init__(self, tenant_id: str, stream_id: str, expected: int | None, actual: int | None):
        super().__init__(
            f"stream {stream_id} of tenant {tenant_id} is at version {actual}, expected {expected}"
        )
        self.tenant_id, self.stream_id = tenant_id, stream_id
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    event_id: str
    tenant_id: str
    stream_id: str
    stream_version: int
    client_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    data: dict[str, Any]
    metadata: dict[str, Any]


class InBulk(NamedTuple):
    """What commit observers are told of an event appended in bulk (`append_selected`, a
    rebuild's thousands of publications at once): read back with only these columns, its
    metadata left undecoded, it costs a third of a `RecordedEvent`."""

    tenant_id: str
    stream_id: str
    type: str
    data: dict[str, Any]


# Built once: a statement object reused keeps its compiled form and cache key, where one built per
# call is constructed, keyed and looked up again each time (most of a command's SQL cost).
_LOCK_EVENTS = text("LOCK TABLE events IN EXCLUSIVE MODE")
_SQLITE_LAST_GIVEN = Prepared(
    text("SELECT seq FROM sqlite_sequence WHERE name = 'events'").columns(seq=Integer)
)
_POSTGRES_NEXT = Prepared(
    text(
        "SELECT nextval(pg_get_serial_sequence('events', 'position')) "
        "FROM generate_series(1, :count)"
    ).columns(nextval=BigInteger)
)
_BULK_EVENTS = BulkInsert(events)
_VERSION_KEY = ["tenant_id", "stream_id", "stream_version"]
# A stream's first event needs no look-up of its version: inserted unless the version is taken.
_INSERT_FIRST = {
    "sqlite": Prepared(
        sqlite.insert(events)
        .on_conflict_do_nothing(index_elements=_VERSION_KEY)
        .returning(events.c.position)
    ),
    "postgresql": Prepared(
        postgresql.insert(events)
        .on_conflict_do_nothing(index_elements=_VERSION_KEY)
        .returning(events.c.position)
    ),
}
_INSERT_ONE = Prepared(insert(events).returning(events.c.position))
# Statements with a list parameter, per dialect (`db.lists.one_of`), each bound as one value, so
# they run on the driver's cursor (`Prepared`).
_STREAM_VERSIONS = {
    dialect: Prepared(
        select(events.c.tenant_id, events.c.stream_id, func.max(events.c.stream_version))
        .where(
            one_of(events.c.tenant_id, "tenant_ids", dialect),
            one_of(events.c.stream_id, "stream_ids", dialect),
        )
        .group_by(events.c.tenant_id, events.c.stream_id)
    )
    for dialect in DIALECTS
}
_STREAM = select(events).where(
    events.c.tenant_id == bindparam("tenant_id"), events.c.stream_id == bindparam("stream_id")
)
_STREAM_IN_ORDER = _STREAM.order_by(events.c.stream_version)
_STREAM_UNTIL = _STREAM.where(events.c.occurred_at <= bindparam("until")).order_by(
    events.c.stream_version
)
_STREAMS_IN_ORDER = {
    dialect: Prepared(
        select(events)
        .where(
            events.c.tenant_id == bindparam("tenant_id"),
            one_of(events.c.stream_id, "stream_ids", dialect),
        )
        .order_by(events.c.stream_id, events.c.stream_version)
    )
    for dialect in DIALECTS
}
# By event id alone (unique): with the tenant in the condition too, SQLite walks the tenant's
# whole stream index for a long list of ids instead of looking each one up.
_STORED_IDS = {
    dialect: Prepared(
        select(events.c.tenant_id, events.c.event_id).where(
            one_of(events.c.event_id, "event_ids", dialect)
        )
    )
    for dialect in DIALECTS
}
_LAST_POSITION = select(func.coalesce(func.max(events.c.position), 0))
# What `append_selected` reads back of the events it appended for the commit observers: their
# position, then `InBulk`'s fields in order.
_APPENDED_AFTER = Prepared(
    select(events.c.position, *(events.c[name] for name in InBulk._fields))
    .where(events.c.position > bindparam("after"))
    .order_by(events.c.position)
    .limit(1000)
)
# An events row as `EventStore.rows_following` keeps it for `append_selected`: all but the
# position and the time appended.
ROW_COLUMNS = tuple(c.name for c in events.columns if c.name not in ("position", "occurred_at"))


@dataclass(frozen=True)
class Append:
    """New events for one stream: after the version the caller read, or, with expected_version
    None, after whatever version the stream is at. Events get the given ids in order (the
    derived ones of progress), else new ones."""

    tenant_id: str
    stream_id: str
    client_id: str
    expected_version: int | None
    events: Sequence[object]
    metadata: Mapping[str, Any]
    event_ids: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.event_ids and len(self.event_ids) != len(self.events):
            raise ValueError("an append gives an id for every event or for none")


class Encoded(TypedDict):
    """An event's part of its events row: catalog type, schema version and data as stored."""

    type: str
    schema_version: int
    data: dict[str, Any]


Encoder = Callable[[Connection, Append, object], Encoded]


@dataclass(frozen=True)
class NewEvent:
    """An event already in its stored form, appended as given (by `as_stored`)."""

    type: str
    schema_version: int
    data: dict[str, Any]


def as_stored(conn: Connection, append: Append, event: object) -> Encoded:
    """The encoder for events already in their stored form; services encode through their
    repository's codec instead."""
    if not isinstance(event, NewEvent):
        raise TypeError(f"not an event in its stored form: {type(event).__name__}")
    return {"type": event.type, "schema_version": event.schema_version, "data": event.data}


def _row(
    append: Append, version: int, event_id: str, encoded: Encoded, now: datetime | None
) -> dict[str, Any]:
    """An events row without its position; without its time too if `now` is None (a row kept
    to be appended later)."""
    row = {
        "event_id": event_id,
        "tenant_id": append.tenant_id,
        "stream_id": append.stream_id,
        "stream_version": version,
        "client_id": append.client_id,
        **encoded,
        "metadata": dict(append.metadata),
    }
    if now is not None:
        row["occurred_at"] = now
    return row


def _rows(
    conn: Connection,
    appends: Sequence[Append],
    versions: dict[tuple[str, str], int],
    encode: Encoder,
    now: datetime | None,
) -> list[dict[str, Any]]:
    """The appends' events rows, each stream's following the version `versions` gives it (0 if
    none), which is moved on as they go; ConcurrencyConflict for an append that expected another
    version."""
    rows = []
    for a in appends:
        stream = (a.tenant_id, a.stream_id)
        actual = versions.get(stream, 0)
        if a.expected_version not in (None, actual):
            raise ConcurrencyConflict(a.tenant_id, a.stream_id, a.expected_version, actual)
        ids = a.event_ids or [str(uuid.uuid4()) for _ in a.events]
        rows += [
            _row(a, actual + i, event_id, encode(conn, a, new), now)
            for i, (event_id, new) in enumerate(zip(ids, a.events, strict=True), 1)
        ]
        versions[stream] = actual + len(a.events)
    return rows


def _recorded(row: Sequence[Any]) -> RecordedEvent:
    """A row of the events table's columns in order (a SQLAlchemy row or a `Prepared` one)."""
    (position, event_id, tenant_id, stream_id, version, client_id, type_, schema, occurred_at,
     data, metadata) = row  # fmt: skip
    return RecordedEvent(
        position,
        event_id,
        tenant_id,
        stream_id,
        version,
        client_id,
        type_,
        schema,
        stored_utc(occurred_at),
        data,
        metadata,
    )


_NOTES = "waypoint_appended_notes"  # a connection's notes of its appends, kept until it commits
Note = TypeVar("Note", bound=Hashable)


@dataclass(frozen=True)
class CommitObserver(Generic[Note]):
    """Told of the events of every transaction once it commits. A transaction keeps, until then,
    not its events but a count of each observer's note of them: `note` makes a small summary of
    an event (its type, a rule; None keeps nothing), `bulk_note` of an event appended in bulk
    (`EventStore.append_selected`), which it knows only as `InBulk`, and `committed` gets each
    note with how many events gave it, in the order first noted. Notes that repeat keep a
    transaction's memory flat however much it appends (the swap of a rebuild appends every
    publication owed). Every observer says what it keeps of both: one that counts events would
    otherwise miss a rebuild's."""

    note: Callable[[RecordedEvent], Note | None]
    bulk_note: Callable[[InBulk], Note | None]
    committed: Callable[[Mapping[Note, int]], None]


_OBSERVERS: WeakKeyDictionary[Engine, tuple[CommitObserver[Any], ...]] = WeakKeyDictionary()


def observe_commits(engine: Engine, *observers: CommitObserver[Any]) -> None:
    """Hand each observer the notes of every transaction on this engine once it commits; a
    rollback drops them, and a rollback to a savepoint drops those noted since it (a command
    that failed in a group commit). The composition root calls this once per engine (metrics,
    logs); a second call adds observers."""
    known = _OBSERVERS.get(engine)
    _OBSERVERS[engine] = (*(known or ()), *observers)
    if known is None:
        _listen(engine)


def _listen(engine: Engine) -> None:
    def committed(conn: Connection) -> None:
        frames = conn.info.pop(_NOTES, None)
        if not frames:
            return
        notes = _merged(frames)
        for index, observer in enumerate(_OBSERVERS.get(engine, ())):
            theirs = {note: n for (i, note), n in notes.items() if i == index}
            if theirs:
                observer.committed(theirs)

    def rolled_back(conn: Connection) -> None:
        if not conn.invalidated:  # else its info goes with the broken DBAPI connection
            conn.info.pop(_NOTES, None)

    def savepoint(conn: Connection, _name: str) -> None:
        conn.info.setdefault(_NOTES, [Counter()]).append(Counter())

    def released(conn: Connection, _name: str, _xid: object) -> None:
        frames = conn.info.get(_NOTES, [])
        if len(frames) > 1:
            frames[-2].update(frames.pop())

    def rolled_back_to_savepoint(conn: Connection, _name: str, _xid: object) -> None:
        frames = conn.info.get(_NOTES, [])
        if len(frames) > 1:
            frames.pop()
        elif frames:
            frames[0].clear()

    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    event.listen(engine, "savepoint", savepoint)
    event.listen(engine, "release_savepoint", released)
    event.listen(engine, "rollback_savepoint", rolled_back_to_savepoint)


def _merged(frames: list[Counter[tuple[int, Hashable]]]) -> Counter[tuple[int, Hashable]]:
    notes = frames[0]
    for frame in frames[1:]:
        notes.update(frame)
    return notes


class EventStore:
    """Append and read events through a connection the caller's transaction owns."""

    def __init__(self, serialize_appends: bool = True):
        # Switched off only by a test that proves the lock is what keeps the relay honest.
        self.serialize_appends = serialize_appends

    def hold_appends(self, conn: Connection) -> None:
        """Keep every other transaction from appending until this one ends (every append takes
        this first): PostgreSQL's lock of the events table; on SQLite, `BEGIN IMMEDIATE` already
        holds the database's one write lock. A transaction that checks streams' versions before
        it appends takes it before it checks."""
        if self.serialize_appends and not is_sqlite(conn):
            conn.execute(_LOCK_EVENTS)

    def append(
        self,
        conn: Connection,
        appends: Sequence[Append],
        encode: Encoder = as_stored,
        *,
        skip_stored: bool = False,
    ) -> list[RecordedEvent]:
        """Append events (to one stream or many) at once: one look-up of the streams' versions,
        `encode` for each event's stored form, one insert. Each append must follow the one before
        it to the same stream; the first that does not raises ConcurrencyConflict and nothing is
        written. With skip_stored, an event whose id the store already holds in its tenant (or
        that comes again in this call) is left out: "append if not already stored"."""
        if not appends:
            return []
        self.hold_appends(conn)
        todo = _not_stored(conn, appends) if skip_stored else appends
        first = _first_event(todo, conn.dialect.name)
        if first is not None:
            return self._insert_first(conn, first, encode(conn, first, first.events[0]))
        versions = _stream_versions(conn, {(a.tenant_id, a.stream_id) for a in todo})
        rows = _rows(conn, todo, versions, encode, datetime.now(UTC))
        return self._insert(conn, rows, appends[0])

    def rows_following(
        self,
        conn: Connection,
        appends: Sequence[Append],
        versions: Mapping[tuple[str, str], int],
        encode: Encoder = as_stored,
    ) -> list[dict[str, Any]]:
        """The events rows `append(..., skip_stored=True)` would write for these appends if each
        (tenant, stream) were at the version given (0 if none is): without their position and
        time, kept to be appended later by `append_selected` while those versions hold. Events
        whose id the store holds are left out, as `append` leaves them out."""
        return _rows(conn, _not_stored(conn, appends), dict(versions), encode, None)

    def append_selected(self, conn: Connection, rows: Select[Any]) -> int:
        """Append the events rows a query selects, in its order, in one `INSERT … SELECT` that
        runs inside the database, and return how many: the query gives `ROW_COLUMNS` in that
        order, and every row is appended now. What `append` checks event by event is the
        caller's to check, in the query or earlier in the transaction once it holds the appends
        (`hold_appends`): each stream's version, ids not yet stored, clients not erased; a
        version already taken fails the whole statement. The appended events are noted for the
        commit observers like any other, read back a thousand at a time."""
        self.hold_appends(conn)
        before, now = self.last_position(conn), datetime.now(UTC)
        timed = rows.add_columns(literal(now, events.c.occurred_at.type))
        statement = insert(events).from_select([*ROW_COLUMNS, "occurred_at"], timed)
        appended = conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
        if _OBSERVERS.get(conn.engine):
            while page := _APPENDED_AFTER.rows(conn, {"after": before}):
                _noted_in_bulk(conn, [InBulk(*row[1:]) for row in page])
                before = page[-1][0]
        return appended

    def _insert(
        self, conn: Connection, rows: list[dict[str, Any]], first: Append
    ) -> list[RecordedEvent]:
        if not rows:
            return []
        try:
            positions = _inserted_positions(conn, rows)
        except IntegrityError as error:
            raise ConcurrencyConflict(
                first.tenant_id, first.stream_id, first.expected_version, None
            ) from error
        return _noted(
            conn, [RecordedEvent(position=p, **r) for p, r in zip(positions, rows, strict=True)]
        )

    def _insert_first(
        self, conn: Connection, append: Append, encoded: Encoded
    ) -> list[RecordedEvent]:
        """A new stream's first event, in one statement; ConcurrencyConflict if it is not new."""
        event_id = append.event_ids[0] if append.event_ids else str(uuid.uuid4())
        row = _row(append, 1, event_id, encoded, datetime.now(UTC))
        try:
            inserted = _INSERT_FIRST[conn.dialect.name].rows(conn, row)
        except IntegrityError as error:
            raise ConcurrencyConflict(append.tenant_id, append.stream_id, 0, None) from error
        if not inserted:  # the stream has events already
            actual = _stream_versions(conn, [(append.tenant_id, append.stream_id)])
            stream = (append.tenant_id, append.stream_id)
            raise ConcurrencyConflict(append.tenant_id, append.stream_id, 0, actual.get(stream))
        return _noted(conn, [RecordedEvent(position=inserted[0][0], **row)])

    def read_stream(
        self, conn: Connection, tenant_id: str, stream_id: str, until: datetime | None = None
    ) -> list[RecordedEvent]:
        """A stream's events in version order; empty for another tenant's stream."""
        params: dict[str, Any] = {"tenant_id": tenant_id, "stream_id": stream_id}
        if until is None:
            return [_recorded(r) for r in conn.execute(_STREAM_IN_ORDER, params)]
        params["until"] = until.astimezone(UTC)
        return [_recorded(r) for r in conn.execute(_STREAM_UNTIL, params)]

    def read_streams(
        self, conn: Connection, tenant_id: str, stream_ids: Collection[str]
    ) -> dict[str, list[RecordedEvent]]:
        """Each of these streams of a tenant in version order (one query for them all); a stream
        with no events maps to an empty list."""
        streams: dict[str, list[RecordedEvent]] = {s: [] for s in stream_ids}
        if streams:
            params = {"tenant_id": tenant_id, "stream_ids": sorted(streams)}
            for row in _STREAMS_IN_ORDER[conn.dialect.name].rows(conn, params):
                streams[row[3]].append(_recorded(row))
        return streams

    def read_after(self, conn: Connection, position: int, limit: int) -> list[RecordedEvent]:
        """Events after a global position, in position order (the relay's feed)."""
        query = (
            select(events)
            .where(events.c.position > position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [_recorded(r) for r in conn.execute(query)]

    def last_position(self, conn: Connection) -> int:
        return int(conn.execute(_LAST_POSITION).scalar_one())


def _inserted_positions(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows; their positions in the rows' order. Several rows take the positions
    next in line (`_next_positions`) and go in one `executemany` below SQLAlchemy's per-row
    processing (a multi-row `INSERT … RETURNING` of a thousand rows was a new statement text for
    each batch, which psycopg parsed again every time: ~70 µs an event)."""
    if len(rows) == 1:
        return [position for (position,) in _INSERT_ONE.rows(conn, rows[0])]
    positions = _next_positions(conn, len(rows))
    _BULK_EVENTS(conn, [{**r, "position": p} for p, r in zip(positions, rows, strict=True)])
    return positions


def _next_positions(conn: Connection, count: int) -> list[int]:
    """The next `count` positions, in order. An appending transaction holds the store's write
    lock (SQLite's from `BEGIN IMMEDIATE`, PostgreSQL's `LOCK TABLE events`), so on SQLite they
    are the ones after the highest the table has ever given (`sqlite_sequence`, AUTOINCREMENT's
    own record) and on PostgreSQL the column's sequence gives them."""
    if is_sqlite(conn):
        after = _SQLITE_LAST_GIVEN.rows(conn, {})
        first = after[0][0] + 1 if after else 1
        return list(range(first, first + count))
    return sorted(position for (position,) in _POSTGRES_NEXT.rows(conn, {"count": count}))


def _noted(conn: Connection, recorded: list[RecordedEvent]) -> list[RecordedEvent]:
    """Note a transaction's appends on its connection until it commits (observe_commits)."""
    for index, observer in enumerate(_OBSERVERS.get(conn.engine, ())):
        _count_notes(conn, index, map(observer.note, recorded))
    return recorded


def _noted_in_bulk(conn: Connection, appended: list[InBulk]) -> None:
    """`_noted` for events appended in bulk."""
    for index, observer in enumerate(_OBSERVERS.get(conn.engine, ())):
        _count_notes(conn, index, map(observer.bulk_note, appended))


def _count_notes(conn: Connection, observer: int, notes: Iterable[Hashable | None]) -> None:
    """Add the notes to the transaction's counts (counted in C, then merged: a rebuild's swap
    notes its tens of thousands of publications)."""
    frame = conn.info.setdefault(_NOTES, [Counter()])[-1]
    counted = Counter(notes)
    counted.pop(None, None)
    for note, count in counted.items():
        frame[(observer, note)] += count


def _first_event(appends: Sequence[Append], dialect: str) -> Append | None:
    """The append, if the call is one event opening a new stream (no version to look up)."""
    if len(appends) != 1 or dialect not in _INSERT_FIRST:
        return None
    [append] = appends
    return append if append.expected_version == 0 and len(append.events) == 1 else None


def _not_stored(conn: Connection, appends: Sequence[Append]) -> list[Append]:
    """The appends without the events whose id the store holds in their tenant, or that came
    earlier in the call; appends left with no event are dropped."""
    held = _stored_ids(conn, {(a.tenant_id, i) for a in appends for i in a.event_ids})
    kept = []
    for a in appends:
        fresh = []
        for event_id, new in zip(a.event_ids, a.events, strict=False):
            if (a.tenant_id, event_id) not in held:
                held.add((a.tenant_id, event_id))
                fresh.append((event_id, new))
        if not a.event_ids or len(fresh) == len(a.events):
            kept.append(a)  # all new (events without ids get new ones: none can be stored yet)
        elif fresh:
            events = [new for _, new in fresh]
            kept.append(replace(a, events=events, event_ids=[i for i, _ in fresh]))
    return kept


def _stream_versions(
    conn: Connection, streams: Collection[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The current version of each of these (tenant, stream id) streams that has events;
    another tenant's stream of the same id is not seen."""
    wanted = set(streams)
    if not wanted:
        return {}
    params = {
        "tenant_ids": sorted({t for t, _ in wanted}),
        "stream_ids": sorted({s for _, s in wanted}),
    }
    found = _STREAM_VERSIONS[conn.dialect.name].rows(conn, params)
    versions = {(tenant, stream): int(v) for tenant, stream, v in found}
    return {stream: v for stream, v in versions.items() if stream in wanted}


def _stored_ids(conn: Connection, event_ids: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (tenant, event id) pairs the store holds (one query for them all); an id
    another tenant holds is not seen."""
    wanted = set(event_ids)
    if not wanted:
        return set()
    params = {"event_ids": sorted({e for _, e in wanted})}
    found = {
        (tenant, event_id) for tenant, event_id in _STORED_IDS[conn.dialect.name].rows(conn, params)
    }
    return found & wanted
