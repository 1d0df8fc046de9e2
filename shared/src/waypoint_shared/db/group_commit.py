"""Group commit: the write commands of one process that wait at the same moment share one
transaction and one durable commit (one fsync), each isolated by a SAVEPOINT.

A command hands its work to the engine's `CommitQueue` and waits. The first command to arrive
while no batch is being made leads: it takes the write transaction (on SQLite the writers' queue
and `BEGIN IMMEDIATE`, ADR 0005), then runs, one after the other and in arrival order, its own
work and that of every command waiting by then or arriving while it runs (up to `max_batch`),
each in its own SAVEPOINT. A work that raises is rolled back to its savepoint and that command
gets its exception; its neighbours are not touched. Then one COMMIT, and only after it returns is
any command of the batch answered: a reply always follows a durable commit (SQLite
`synchronous=FULL`, PostgreSQL `synchronous_commit=on`), and a process killed before the commit
leaves none of the batch stored. When the batch is done the first command still waiting leads
the next one; a leader leads exactly one batch, so no request waits on others' batches for long.

Each work runs in the leader's thread but inside a copy of its own command's context variables
(Flask's request, `g`, the logging context), so it sees its own request as if it ran alone.
A batch runs its works in arrival order in one transaction: a later command sees what an earlier
one wrote, exactly as if they had committed one after the other (versions of a stream and
conflicts come out as they would serially). A transient failure ("database is locked",
deadlock, serialization) of the commit or of one work is retried as `run_in_transaction` does.
"""

from __future__ import annotations

import contextvars
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from waypoint_shared.db.database import RETRIES, is_transient, run_in_transaction, transaction
from waypoint_shared.db.prepared import Prepared

T = TypeVar("T")
MAX_BATCH = 64  # commands in one transaction at most: bounds how long the last one waits

_leading = threading.local()  # set while this thread runs a batch (a nested command runs alone)


class _Ticket(Generic[T]):
    """One command waiting in the queue: its work, its context, and, once done, its outcome."""

    __slots__ = ("context", "error", "finished", "lead", "value", "wake", "work")

    def __init__(self, work: Callable[[Connection], T]):
        self.work = work
        self.context = contextvars.copy_context()
        self.wake = threading.Event()  # set when finished, or when it is to lead
        self.lead = False
        self.finished = False
        self.value: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class CommitQueue:
    """The commands of this process that write one database, committed in groups."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH):
        self.engine, self.max_batch = engine, max_batch
        self._lock = threading.Lock()
        self._waiting: deque[_Ticket[Any]] = deque()
        self._busy = False  # a leader is making a batch
        self.batches = 0  # batches committed (for tests and metrics)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run work in a shared write transaction; return its result once that has committed.
        A transient failure is retried, whole, as `run_in_transaction` retries it."""
        if getattr(_leading, "active", False):  # a command inside a command: on its own
            return run_in_transaction(self.engine, work)
        for attempt in range(RETRIES):
            try:
                return self._submit(work)
            except DBAPIError as error:
                if not is_transient(error) or attempt == RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _submit(self, work: Callable[[Connection], T]) -> T:
        ticket = _Ticket(work)
        with self._lock:
            self._waiting.append(ticket)
            ticket.lead = not self._busy
            self._busy = True
        if not ticket.lead:
            ticket.wake.wait()  # finished, or made the leader of the next batch
        if not ticket.finished:
            self._lead()
        return ticket.outcome()

    def _lead(self) -> None:
        """Run one batch: this thread's own command (first in the queue) and those after it."""
        batch: list[_Ticket[Any]] = [self._next_or_own()]
        _leading.active = True
        try:
            self._run_batch(batch)
        except BaseException as error:  # the transaction failed: no command of it is stored
            for ticket in batch:
                ticket.error = ticket.error or error
        finally:
            _leading.active = False
            for ticket in batch:
                ticket.finished = True
                ticket.wake.set()
            self._hand_over()

    def _run_batch(self, batch: list[_Ticket[Any]]) -> None:
        with transaction(self.engine, write=True) as conn:
            _run_one(conn, batch[0])
            while len(batch) < self.max_batch and (ticket := self._next()) is not None:
                batch.append(ticket)
                _run_one(conn, ticket)
        self.batches += 1

    def _next_or_own(self) -> _Ticket[Any]:
        ticket = self._next()
        assert ticket is not None, "a leader's own command is first in the queue"
        return ticket

    def _next(self) -> _Ticket[Any] | None:
        with self._lock:
            return self._waiting.popleft() if self._waiting else None

    def _hand_over(self) -> None:
        """The first command still waiting leads the next batch; with none, nobody leads."""
        with self._lock:
            if not self._waiting:
                self._busy = False
                return
            successor = self._waiting[0]
        successor.lead = True
        successor.wake.set()


# One command's savepoint, on the DBAPI cursor: what `conn.begin_nested()` emits, without its
# ~100 µs of Python a statement. One name serves: each is released or rolled back before the next.
# The connection's savepoint events are fired as begin_nested fires them (the event store's commit
# observers follow them to drop the events of a command rolled back).
_SAVEPOINT = "waypoint_command"
_BEGIN = Prepared(text(f"SAVEPOINT {_SAVEPOINT}"))
_RELEASE = Prepared(text(f"RELEASE SAVEPOINT {_SAVEPOINT}"))
_ROLLBACK_TO = Prepared(text(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}"))


def _run_one(conn: Connection, ticket: _Ticket[Any]) -> None:
    """One command's work in its own savepoint and its own context; its failure is its own."""
    _BEGIN.rows(conn, {})
    conn.dispatch.savepoint(conn, _SAVEPOINT)
    try:
        ticket.value = ticket.context.run(ticket.work, conn)
    except Exception as error:  # rolled back to its savepoint; the batch goes on
        ticket.error = error
        root = conn.get_transaction()
        if conn.invalidated or root is None or not root.is_active:
            raise
        _ROLLBACK_TO.rows(conn, {})
        conn.dispatch.rollback_savepoint(conn, _SAVEPOINT, None)
        return
    _RELEASE.rows(conn, {})
    conn.dispatch.release_savepoint(conn, _SAVEPOINT, None)


_queues: weakref.WeakKeyDictionary[Engine, CommitQueue] = weakref.WeakKeyDictionary()
_queues_lock = threading.Lock()


def commit_queue(engine: Engine) -> CommitQueue:
    """The process's commit queue of an engine (made on first use)."""
    with _queues_lock:
        queue = _queues.get(engine)
        if queue is None:
            queue = _queues[engine] = CommitQueue(engine)
        return queue


def run_in_group(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run a command's work in the engine's next group commit (see the module's doc)."""
    return commit_queue(engine).run(work)
