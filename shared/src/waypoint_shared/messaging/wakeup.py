"""Waiting cheaply for the next commit to a database, so an idle relay need not query its outbox.

- SQLite: `PRAGMA data_version` on a connection of its own changes whenever another connection
  commits to the file; reading it costs a few microseconds and touches no table. A changed
  version counts only if the newest position in `events` moved too (one look at the primary
  key's last page), so the commits of the service's consumer, its relay's own position and its
  leases do not send the relay to its outbox. On Linux the wait blocks on inotify until the
  database's WAL file is written (each commit writes it), then looks at data_version a few
  times while the commit completes; elsewhere it looks every tick.
- PostgreSQL: a trigger on `events` (migration `relay-0001`) notifies channel `waypoint_events`
  when a transaction that appended events commits; the relay LISTENs on a connection of its own.

A signal is only a hint: a wait also ends at its timeout, and the caller then reads the outbox
anyway. A missed or spurious signal can delay a publication by at most that timeout, never lose it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import sqlite3
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy import Connection, Engine, text

from waypoint_shared.db.database import Migration, is_sqlite

log = logging.getLogger(__name__)
CHANNEL = "waypoint_events"
SQLITE_TICK = 0.005  # how often an idle relay looks at SQLite's data_version, in seconds
COMMIT_SETTLES = 0.1  # after the WAL is written, how long to look for the commit to show
IN_MODIFY = 0x00000002
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name


class Commits(Protocol):
    def wait(self, stop: threading.Event, timeout: float) -> bool:
        """Wait until something may have been committed (True), stop is set or timeout passed."""
        ...

    def close(self) -> None: ...


class Timer:
    """No signal at all: every wait lasts its timeout."""

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        stop.wait(timeout)
        return False

    def close(self) -> None:
        pass


class SqliteDataVersion:
    """Commits by other connections to one SQLite file that appended events, seen through PRAGMA
    data_version and then the newest position in `events`."""

    def __init__(self, path: str, tick: float = SQLITE_TICK):
        self.path, self.tick = path, tick
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._newest: int | None = None
        self._writes = FileWrites.of(Path(f"{path}-wal"))

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        """Compared with the version seen when the last wait ended, which was before the caller
        read the outbox: a commit made while it read ends this wait at once."""
        deadline = time.monotonic() + timeout
        settling_until = 0.0
        while not self._changed():
            now = time.monotonic()
            if stop.is_set() or now >= deadline:
                return False
            if now < settling_until or self._writes is None:
                stop.wait(min(self.tick, deadline - now))
            elif self._writes.wait(min(0.25, deadline - now)):  # stop is looked at in between
                settling_until = time.monotonic() + COMMIT_SETTLES
        return True

    def _changed(self) -> bool:
        """Whether events were appended since the last look. The version is read first: a commit
        made between the two reads shows in the position now, or in the version next time."""
        if self._connection is None:
            self._connection = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
        version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        changed, self._seen = self._seen is not None and version != self._seen, version
        if not changed and self._newest is not None:
            return False
        newest, self._newest = self._newest, self._newest_position()
        return newest is not None and self._newest != newest

    def _newest_position(self) -> int:
        """The newest position in `events` (0 for none), or -1 before the store's migration."""
        assert self._connection is not None
        try:
            row = self._connection.execute("SELECT max(position) FROM events").fetchone()
        except sqlite3.OperationalError:  # no events table yet: any commit may be its making
            return -1
        return int(row[0] or 0)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._writes is not None:
            self._writes.close()
            self._writes = None


class FileWrites:
    """Linux inotify: writes to one file, watched through its folder (SQLite may delete and make
    the WAL file again). A wait blocks in select(), costing nothing while nothing is written."""

    def __init__(self, path: Path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.name = path.name.encode()
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if libc.inotify_add_watch(self.fd, str(path.parent).encode(), IN_MODIFY) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"cannot watch {path.parent}")

    @classmethod
    def of(cls, path: Path) -> FileWrites | None:
        """A watch on the file, or None where inotify is missing (then waits poll)."""
        try:
            return cls(path)
        except (OSError, AttributeError):  # no inotify (not Linux) or no watch left
            log.info("no inotify for %s; an idle relay polls data_version instead", path)
            return None

    def wait(self, timeout: float) -> bool:
        """True once the file was written to since the last wait, else False after timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.fd], [], [], left)[0]:
                return False
            if self.name in self._written():
                return True
        return False

    def _written(self) -> set[bytes]:
        names: set[bytes] = set()
        try:
            while chunk := os.read(self.fd, 65536):
                offset = 0
                while offset < len(chunk):
                    _, _, _, length = _EVENT.unpack_from(chunk, offset)
                    start = offset + _EVENT.size
                    names.add(chunk[start : start + length].rstrip(b"\0"))
                    offset = start + length
        except BlockingIOError:
            pass
        return names

    def close(self) -> None:
        os.close(self.fd)


class PostgresNotifications:
    """Notifications on CHANNEL, listened to on a connection of its own (autocommit)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection: psycopg.Connection | None = None

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        """Block in select() on the connection's socket (stop is looked at between slices), and
        let psycopg read only what arrived: its own wait for notifications costs ~0.4 ms of CPU
        a call, which four slices a second made a visible share of an idle worker's time."""
        connection = self._listening()
        deadline = time.monotonic() + timeout
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if select.select([connection.fileno()], [], [], min(left, 0.25))[0]:
                return any(True for _ in connection.notifies(timeout=0, stop_after=1))
        return False

    def _listening(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            url = self.engine.url.set(drivername="postgresql")
            dsn = url.render_as_string(hide_password=False)
            self._connection = psycopg.connect(dsn, autocommit=True)
            self._connection.execute(f"LISTEN {CHANNEL}")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def commits_of(engine: Engine) -> Commits:
    """How to wait for the next commit to this engine's database."""
    database = engine.url.database
    if not is_sqlite(engine):
        return PostgresNotifications(engine)
    if not database or database == ":memory:" or database.startswith("file:"):
        return Timer()
    return SqliteDataVersion(database)


class Waiting:
    """An idle relay's waits: short while events keep coming, growing to `longest` while none do;
    any signal of a commit ends a wait at once. Failing signals fall back to the timer."""

    def __init__(self, commits: Commits, shortest: float, longest: float = 1.0):
        self.commits, self.shortest, self.longest = commits, shortest, longest
        self.next = shortest

    def busy(self) -> None:
        self.next = self.shortest

    def idle(self, stop: threading.Event) -> None:
        try:
            signalled = self.commits.wait(stop, self.next)
        except (sqlite3.Error, psycopg.Error, OSError):
            log.warning("cannot watch the database for commits; polling", exc_info=True)
            self.commits.close()
            self.commits, signalled = Timer(), False
            stop.wait(self.next)
        self.next = self.shortest if signalled else min(self.next * 2, self.longest)


def _notify_on_append(conn: Connection) -> None:
    if is_sqlite(conn):
        return  # SQLite's data_version needs nothing stored
    conn.execute(
        text(
            "CREATE OR REPLACE FUNCTION waypoint_events_appended() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); "
            "RETURN NULL; END $$"
        )
    )
    conn.execute(
        text(
            "CREATE TRIGGER events_appended AFTER INSERT ON events "
            "FOR EACH STATEMENT EXECUTE FUNCTION waypoint_events_appended()"
        )
    )


MIGRATIONS = [Migration("relay-0001", _notify_on_append)]
