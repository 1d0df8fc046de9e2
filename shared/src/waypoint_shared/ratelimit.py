"""Per-token request rate limits (OWASP API4), shared by every worker and replica of a service.

Algorithm: GCRA, the token bucket kept as one number per token — the theoretical arrival time
`tat` of the next request if the token sent at exactly the allowed rate. With rate r (requests/s,
`WAYPOINT_RATE_LIMIT`, 100 by default) each request moves `tat` to max(tat, now) + 1/r, and is
admitted while that stays within one second of now: a bucket of r requests refilled at r per
second. An idle token may send r requests at once; over any t seconds at most r·(t + 1) pass.
A request that would overrun answers 429 with `Retry-After` (whole seconds until one fits).

The counter lives in shared state, so all gunicorn workers and all replicas on one database
count together: on PostgreSQL an UNLOGGED table of the service's database (no WAL, emptied by a
crash, which only forgets recent counts); on SQLite a small file beside the service's database,
`<database>.ratelimit` (WAL, `synchronous=OFF`), so a flood never takes the event store's write
lock. Each request is one atomic upsert that admits and counts at once; a refused request costs
one more read for `Retry-After`. Rows are keyed by the service and a SHA-256 of the bearer token
(never the token). If the limiter's store fails, the request is let through and logged: the
limiter guards capacity, it is not a reason to refuse service.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, g, request
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from waypoint_shared.database import Migration, is_sqlite
from waypoint_shared.problems import Problem

log = logging.getLogger(__name__)
DEFAULT_RATE = 100.0  # requests per second per token
PRUNE_EVERY_SECONDS = 60.0  # rows of tokens idle this long are deleted (by one request a minute)

_meta = MetaData()
rate_limits = Table(
    "rate_limits",
    _meta,
    Column("key", String(80), primary_key=True),
    Column("tat", Float, nullable=False),  # theoretical arrival time, seconds since the epoch
)

_ADMIT = (
    "INSERT INTO rate_limits (key, tat) VALUES (:key, :now + :interval) "
    "ON CONFLICT (key) DO UPDATE SET tat = {greatest}(rate_limits.tat, :now) + :interval "
    "WHERE {greatest}(rate_limits.tat, :now) + :interval <= :now + :tolerance "
    "RETURNING tat"
)


def _create_unlogged_table(conn: Connection) -> None:
    """PostgreSQL only; on SQLite the counters live in their own file (see RateLimiter)."""
    if not is_sqlite(conn):
        conn.execute(
            text(
                "CREATE UNLOGGED TABLE IF NOT EXISTS rate_limits "
                "(key VARCHAR(80) PRIMARY KEY, tat DOUBLE PRECISION NOT NULL)"
            )
        )


MIGRATIONS = (Migration("shared-0006-rate-limits", _create_unlogged_table),)


@dataclass(frozen=True)
class Decision:
    admitted: bool
    retry_after: int = 0  # whole seconds, when refused


class RateLimiter:
    """Counts requests per key in shared state; `admit(key)` says whether one more may pass."""

    def __init__(self, engine: Engine, rate: float = DEFAULT_RATE):
        if rate <= 0:
            raise ValueError("WAYPOINT_RATE_LIMIT must be a positive number of requests/s")
        self.rate = rate
        self.interval = 1.0 / rate
        self.tolerance = 1.0  # one second of requests may come at once
        self.engine = counters_engine(engine)
        greatest = "max" if is_sqlite(self.engine) else "GREATEST"
        self._admit = text(_ADMIT.format(greatest=greatest))
        self._pruned_at = time.time()
        self._prune_lock = threading.Lock()

    def admit(self, key: str) -> Decision:
        now = time.time()
        params = {"key": key, "now": now, "interval": self.interval, "tolerance": self.tolerance}
        try:
            with self.engine.begin() as conn:
                admitted = conn.execute(self._admit, params).first() is not None
                tat = None if admitted else _tat(conn, key)
            self._prune_now_and_then(now)
        except SQLAlchemyError:
            log.warning("rate limiter store failed; request let through", exc_info=True)
            return Decision(True)
        if admitted or tat is None:
            return Decision(True)
        wait = tat + self.interval - self.tolerance - now
        return Decision(False, max(1, math.ceil(wait)))

    def _prune_now_and_then(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_SECONDS or not self._prune_lock.acquire(False):
            return
        try:
            self._pruned_at = now
            with self.engine.begin() as conn:
                stale = now - PRUNE_EVERY_SECONDS
                conn.execute(text("DELETE FROM rate_limits WHERE tat < :stale"), {"stale": stale})
        finally:
            self._prune_lock.release()


def _tat(conn: Connection, key: str) -> float | None:
    row = conn.execute(text("SELECT tat FROM rate_limits WHERE key = :key"), {"key": key}).first()
    return None if row is None else float(row[0])


def counters_engine(engine: Engine) -> Engine:
    """Where the counters live: the service's PostgreSQL database, or a SQLite file beside it."""
    if not is_sqlite(engine):
        return engine
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        counters = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        counters = create_engine(f"sqlite:///{database}.ratelimit", connect_args={"timeout": 5})
    sa_event.listen(counters, "connect", _configure_counters)
    with counters.begin() as conn:
        rate_limits.create(conn, checkfirst=True)
    return counters


def _configure_counters(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # each upsert is its own atomic statement
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


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
