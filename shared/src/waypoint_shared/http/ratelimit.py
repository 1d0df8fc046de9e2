"""Per-token request rate limits (OWASP API4), shared by every worker and replica of a service.

Algorithm: GCRA, the token bucket kept as one number per token — the theoretical arrival time
`tat` of the next request if the token sent at exactly the allowed rate. With rate r (requests/s,
`WAYPOINT_RATE_LIMIT`, 100 by default) each request moves `tat` to max(tat, now) + 1/r, and is
admitted while that stays within one second of now: a bucket of r requests refilled at r per
second. An idle token may send r requests at once; over any t seconds at most r·(t + 1) pass.
A request that would overrun answers 429 with `Retry-After` (whole seconds until one fits).

The counter lives in shared state, so all gunicorn workers and all replicas on one database
count together: on PostgreSQL an UNLOGGED table of the service's database (no WAL, emptied by a
crash, which only forgets recent counts), one atomic upsert per request that admits and counts at
once; on SQLite, whose processes all run on one machine, a table of fixed size in a file mapped
into every process's memory, `<database>.ratelimit-map` (`MappedCounters`), so a flood never
takes the event store's write lock. A refused request costs one more read for `Retry-After`, and
each process then refuses that token from memory until the moment its next request can fit, so a
flood past its limit never reaches the shared store. Counters are keyed by the service and a
SHA-256 of the bearer token (never the token). If the limiter's store fails, the request is let
through and logged: the limiter guards capacity, it is not a reason to refuse service.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, g, request
from sqlalchemy import Connection, Engine, create_engine, text

from waypoint_shared.db.database import Migration, is_sqlite
from waypoint_shared.http.problems import Problem

log = logging.getLogger(__name__)
DEFAULT_RATE = 100.0  # requests per second per token
REMEMBERED_REFUSALS = 10_000  # per process: tokens refused until a known time
PRUNE_EVERY_SECONDS = 60.0  # rows of tokens idle this long are deleted (by one request a minute)

_ADMIT = (
    "INSERT INTO rate_limits (key, tat) VALUES (:key, :now + :interval) "
    "ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_limits.tat, :now) + :interval "
    "WHERE GREATEST(rate_limits.tat, :now) + :interval <= :now + :tolerance "
    "RETURNING tat"
)


def _create_unlogged_table(conn: Connection) -> None:
    """PostgreSQL only; on SQLite the counters live in a file of their own (MappedCounters)."""
    if not is_sqlite(conn):
        conn.execute(
            text(
                "CREATE UNLOGGED TABLE IF NOT EXISTS rate_limits "
                "(key VARCHAR(80) PRIMARY KEY, tat DOUBLE PRECISION NOT NULL)"
            )
        )


# key: service and token hash; tat: theoretical arrival time, in seconds since the epoch.
MIGRATIONS = (Migration("shared-0006-rate-limits", _create_unlogged_table),)


@dataclass(frozen=True)
class Decision:
    admitted: bool
    retry_after: int = 0  # whole seconds, when refused


class RateLimiter:
    """Counts requests per key in shared state; `admit(key)` says whether one more may pass."""

    def __init__(self, engine: Engine, rate: float = DEFAULT_RATE, connections: int = 8):
        """`connections`: how many requests of this process may ask at once (its threads)."""
        if rate <= 0:
            raise ValueError("WAYPOINT_RATE_LIMIT must be a positive number of requests/s")
        self.rate = rate
        self.interval = 1.0 / rate
        self.tolerance = 1.0  # one second of requests may come at once
        self.counters: Counters = (
            MappedCounters(engine) if is_sqlite(engine) else PostgresCounters(engine, connections)
        )
        self._pruned_at = time.time()
        self._prune_lock = threading.Lock()
        # Tokens this process saw refused, with the time the next request can fit. Other workers
        # and replicas only ever move a token's `tat` later, so until then every request of the
        # token is refused without asking the shared store: a flood costs a dict look-up.
        self._refused_until: dict[str, float] = {}

    def admit(self, key: str) -> Decision:
        now = time.time()
        until = self._refused_until.get(key)
        if until is not None and now < until:
            return Decision(False, max(1, math.ceil(until - now)))
        params = {"key": key, "now": now, "interval": self.interval, "tolerance": self.tolerance}
        try:
            tat = self.counters.admit(params)
            self._prune_now_and_then(now)
        except Exception:  # the store of counters, whatever its driver: fail open
            log.warning("rate limiter store failed; request let through", exc_info=True)
            return Decision(True)
        if tat is None:
            return Decision(True)
        fits_at = tat + self.interval - self.tolerance
        self._remember_refusal(key, fits_at, now)
        return Decision(False, max(1, math.ceil(fits_at - now)))

    def _remember_refusal(self, key: str, fits_at: float, now: float) -> None:
        if len(self._refused_until) >= REMEMBERED_REFUSALS:  # forget the ones that have passed
            for other, until in list(self._refused_until.items()):
                if until <= now:
                    self._refused_until.pop(other, None)
        if len(self._refused_until) < REMEMBERED_REFUSALS:
            self._refused_until[key] = fits_at

    def _prune_now_and_then(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_SECONDS or not self._prune_lock.acquire(False):
            return
        try:
            self._pruned_at = now
            self.counters.prune(now - PRUNE_EVERY_SECONDS)
        finally:
            self._prune_lock.release()


class Counters(Protocol):
    def admit(self, params: dict[str, Any]) -> float | None:
        """Count one request if it fits; None when admitted, else the key's stored `tat`."""

    def prune(self, before: float) -> None:
        """Forget keys whose `tat` is older than before."""


class PostgresCounters:
    """The UNLOGGED table in the service's database, through a pool of its own in autocommit
    mode: one round trip per request (no BEGIN/COMMIT, no pre-ping; a broken connection fails
    open once and is replaced). The pool keeps a connection open for each request that may ask
    at once: one beyond those is opened and closed for one request (a new server session), and
    with two kept for a web worker's eight threads most requests under load paid for one."""

    def __init__(self, engine: Engine, connections: int):
        self.engine = create_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=connections,
            max_overflow=5,
        )
        self._admit = text(_ADMIT)

    def admit(self, params: dict[str, Any]) -> float | None:
        with self.engine.connect() as conn:
            if conn.execute(self._admit, params).first() is not None:
                return None
            return _tat(conn, params["key"])

    def prune(self, before: float) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("DELETE FROM rate_limits WHERE tat < :before"), {"before": before})


class MappedCounters:
    """`<database>.ratelimit-map` beside the service's SQLite file (anonymous memory for an
    in-memory one), mapped into every process that serves the database.

    SLOTS slots of 32 bytes: a 16-byte BLAKE2b digest of the key and its `tat` (a double). A key
    lives in the first of PROBES slots from its hash that holds its digest, or else takes the
    first of them that is free: never used, or its `tat` more than FREE_AFTER_SECONDS old (the
    bucket has long been full again). With none free the oldest of them is taken over, which
    gives the token it held a full bucket again. Each admission runs under a lock of this
    process's threads and an `flock` of the file between processes, with no call that lets
    another thread in meanwhile (a few microseconds: SQLite statements here gave up the GIL
    at each step while holding the file's lock, and every other process waited)."""

    _map: mmap.mmap
    _fd: int | None
    _threads: threading.Lock

    def __init__(self, engine: Engine):
        database = engine.url.database
        in_memory = not database or database == ":memory:" or database.startswith("file:")
        self.path = None if in_memory else f"{database}.ratelimit-map"
        self._pid = -1
        self._opened()

    def _opened(self) -> mmap.mmap:
        """The map of this process (a forked process maps the file afresh, with a lock of its
        own: an inherited descriptor would share the parent's flock)."""
        if self._pid == os.getpid():
            return self._map
        size = SLOTS * _SLOT.size
        self._threads = threading.Lock()
        self._fd = None if self.path is None else os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if self._fd is None:
            self._map = mmap.mmap(-1, size)
        else:
            if os.fstat(self._fd).st_size < size:
                os.ftruncate(self._fd, size)
            self._map = mmap.mmap(self._fd, size)
        self._pid = os.getpid()
        return self._map

    def admit(self, params: dict[str, Any]) -> float | None:
        now, interval = params["now"], params["interval"]
        digest = hashlib.blake2b(params["key"].encode(), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "little")
        table = self._opened()
        with self._locked():
            offset, tat = _slot(table, digest, first, now)
            admitted_until = max(tat, now) + interval
            if admitted_until > now + params["tolerance"]:
                return tat
            _SLOT.pack_into(table, offset, digest, admitted_until)
            return None

    def prune(self, before: float) -> None:
        """Nothing to delete: a slot whose `tat` is old is free for the next key that needs it."""

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


SLOTS = 1 << 16  # 2 MiB: room for tens of thousands of tokens active within a minute
PROBES = 8
FREE_AFTER_SECONDS = 60.0
_SLOT = struct.Struct("<16sd8x")


def _slot(table: mmap.mmap, digest: bytes, first: int, now: float) -> tuple[int, float]:
    """The offset of the key's slot and its `tat` (0 for a slot the key takes now)."""
    free, oldest = None, None
    for probe in range(PROBES):
        offset = ((first + probe) % SLOTS) * _SLOT.size
        held_by, tat = _SLOT.unpack_from(table, offset)
        if held_by == digest:
            return offset, tat
        if free is None and tat < now - FREE_AFTER_SECONDS:
            free = offset
        if oldest is None or tat < oldest[1]:
            oldest = (offset, tat)
    assert oldest is not None
    return (free if free is not None else oldest[0]), 0.0


def _tat(conn: Connection, key: str) -> float | None:
    row = conn.execute(text("SELECT tat FROM rate_limits WHERE key = :key"), {"key": key}).first()
    return None if row is None else float(row[0])


def token_key(service: str, token: str) -> str:
    """The row key of a bearer token: the service and a hash, never the token itself."""
    return f"{service}:{hashlib.sha256(token.encode()).hexdigest()}"


def install_rate_limit(app: Flask, service: str, limiter: RateLimiter) -> None:
    """After authentication: a request of a known token over its rate answers 429."""

    @app.before_request
    def limit_rate() -> None:
        if g.get("principal") is None:
            return  # public paths; a bad token was already answered 401
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        decision = limiter.admit(token_key(service, token))
        if not decision.admitted:
            raise Problem(
                429,
                "Too Many Requests",
                f"This token sent more than {limiter.rate:g} requests per second; "
                f"retry after {decision.retry_after} s.",
                {"Retry-After": str(decision.retry_after)},
            )
