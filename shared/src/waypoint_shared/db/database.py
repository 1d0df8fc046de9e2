"""Engines and transactions for SQLite (default) and PostgreSQL, and a small migration runner.

SQLite: WAL, a busy timeout, and `BEGIN IMMEDIATE` for writes so that several gunicorn workers
and the worker process can write one file; "database is locked" is retried, never surfaced.
Writers of one file first queue on a lock file beside it (see `_writers_queue`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
RETRIES = 8

_migrations_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _migrations_meta,
    Column("id", String(128), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def connect(url: str, connections: int = 5) -> Engine:
    """An engine for a database URL, with the SQLite settings the event store relies on.

    On PostgreSQL its pool keeps up to `connections` open: one for each thread that may use the
    engine at once (a web worker's request threads). Up to five more are opened and closed for
    one use each, a new server session every time: with five kept for a worker's eight
    threads, up to three requests in eight under load paid for one."""
    codec: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}
    if not url.startswith("sqlite"):
        return create_engine(
            url, pool_pre_ping=True, pool_size=connections, max_overflow=5, **codec
        )
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **codec)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def stored_utc(moment: datetime) -> datetime:
    """A time read from the database, zoned: SQLite keeps no zone, and everything stored is UTC.
    (`datetime.combine`, not `replace(tzinfo=…)`: the keyword call cost five times as much, and
    a rebuild reads two times a fact.)"""
    return moment if moment.tzinfo else datetime.combine(moment, moment.time(), UTC)


def json_text(value: Any) -> str:
    """A JSON column's stored text, written by orjson (in C: the event store's `data` and
    `metadata` and the projection's facts were a tenth of a projector batch through `json.dumps`).
    Keys that are not strings are written as strings, as `json.dumps` writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event emits BEGIN itself
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "synchronous=FULL",
        "secure_delete=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite(conn: Connection) -> None:
    writing = conn.get_execution_options().get("write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def is_transient(error: DBAPIError) -> bool:
    message = str(error.orig).lower()
    return any(
        s in message
        for s in (
            "database is locked",
            "deadlock detected",
            "could not serialize",
            "database table is locked",
        )
    )


# SQLSTATEs of a server that is unreachable, shutting down, starting up or out of sessions: class 08
# (connection exception), admin and crash shutdown, cannot connect now, too many connections.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# What a driver without SQLSTATEs says when the server is gone, restarting or refusing connections.
_UNAVAILABLE = (
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "could not connect",
    "connection is closed",
    "connection already closed",
    "connection is lost",
    "no connection to the server",
    "the database system is",
    "consuming input failed",
)


# What a statement can raise when the database is at fault (is_unavailable tells an outage apart).
DATABASE_ERRORS = (DBAPIError, PendingRollbackError)


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a fault of the request):
    whatever the request did is rolled back, unless the connection broke during COMMIT."""
    if isinstance(error, PendingRollbackError):  # a connection broken earlier in the transaction
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if hasattr(error.orig, "sqlstate"):  # psycopg: the server's SQLSTATE, None for the client's
        state = getattr(error.orig, "sqlstate")  # noqa: B009 - the driver's own attribute
        if state is None:  # lost, refused or timed out before the server could answer
            return isinstance(error, (OperationalError, InterfaceError))
        return str(state).startswith(_UNAVAILABLE_STATES)
    message = str(error.orig).lower()
    return any(s in message for s in _UNAVAILABLE)


_queued = threading.local()  # the lock files this thread holds


@contextmanager
def _writers_queue(path: str) -> Iterator[None]:
    """Wait for this thread's turn to write the SQLite file (held around BEGIN IMMEDIATE..COMMIT).

    SQLite's busy handler polls with growing sleeps (1, 2, 5, 10 ms ...), so with several writers
    its write lock sits idle between them; the kernel hands an flock over the moment it is freed.
    The busy timeout stays for writers that do not queue here. Held for one transaction only;
    a write nested in one this thread holds does not queue (SQLite's busy timeout decides)."""
    held = _queued.__dict__.setdefault("paths", set())
    if path in held:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(path)
        yield
    finally:
        held.discard(path)
        os.close(fd)  # closing releases the lock, also when the transaction failed


def _queue_path(engine: Engine) -> str | None:
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:" or database[:5] == "file:":
        return None
    return f"{database}.writers"


@contextmanager
def transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    """One transaction, not retried; a write one queues for the SQLite file's write lock."""
    queue = _queue_path(engine) if write else None
    with engine.connect() as conn:
        conn.execution_options(write=write)
        with _writers_queue(queue) if queue else nullcontext(), conn.begin():
            yield conn


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], write: bool = True) -> T:
    """Run work in one transaction; a busy or deadlocked database is retried, whole."""
    for attempt in range(RETRIES):
        try:
            with transaction(engine, write) as conn:
                return work(conn)
        except (OperationalError, DBAPIError) as error:
            if not is_transient(error) or attempt == RETRIES - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def read(engine: Engine) -> AbstractContextManager[Connection]:
    """A read-only transaction (no write lock on SQLite)."""
    return transaction(engine, write=False)


@dataclass(frozen=True)
class Migration:
    id: str
    apply: Callable[[Connection], None]


def create_tables(*tables: Table) -> Callable[[Connection], None]:
    """A migration step that creates the given tables (and their indexes) as they are now."""

    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn)

    return apply


def migrate(engine: Engine, migrations: Sequence[Migration]) -> list[str]:
    """Apply the migrations not yet recorded, in order, under a lock; returns those applied."""

    def work(conn: Connection) -> list[str]:
        if not is_sqlite(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(7245001)"))
        schema_migrations.create(conn, checkfirst=True)
        done = set(conn.execute(select(schema_migrations.c.id)).scalars())
        applied = []
        for migration in migrations:
            if migration.id not in done:
                migration.apply(conn)
                conn.execute(
                    insert(schema_migrations).values(id=migration.id, applied_at=datetime.now(UTC))
                )
                applied.append(migration.id)
        return applied

    return run_in_transaction(engine, work)
