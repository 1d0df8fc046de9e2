"""The outbox relay: publishes stored events to Kafka in position order, then stores the position.

At-least-once: a crash between the broker's ack and storing the position republishes a few
events, which consumers skip by event id. One relay per database holds a lock; while Kafka is down
the relay backs off and retries, and commands keep being accepted and stored meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from waypoint_shared.db.database import (
    DATABASE_ERRORS,
    is_sqlite,
    is_unavailable,
    run_in_transaction,
)
from waypoint_shared.db.tables import relay_lock, relay_position
from waypoint_shared.eventstore.store import EventStore, RecordedEvent
from waypoint_shared.messaging import envelope
from waypoint_shared.observability import metrics

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=5)
ADVISORY_LOCK_KEY = 7245002


class RelayLock:
    """One relay per database: a lease row on SQLite, a session advisory lock on PostgreSQL."""

    def __init__(self, engine: Engine, name: str):
        self.engine, self.name, self.owner = engine, name, f"{uuid.uuid4()}"
        self._pg_connection: Connection | None = None
        self._lease_until: datetime | None = None  # when the lease this relay holds runs out
        self._checked = 0.0  # when the advisory lock's session was last seen alive

    def acquire(self) -> bool:
        if is_sqlite(self.engine):
            return self._has_lease()
        if self._pg_connection is not None and not self._still_held():
            return False
        if self._pg_connection is None:
            conn = self.engine.connect()
            held = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            ).scalar_one()
            conn.commit()
            if not held:
                conn.close()
                return False
            self._pg_connection = conn
        return True

    def forget(self) -> None:
        """Drop a lock whose database session was lost (the server ended the lock with it)."""
        if self._pg_connection is not None:
            with contextlib.suppress(Exception):
                self._pg_connection.close()
            self._pg_connection = None
        self._lease_until = None

    def _still_held(self) -> bool:
        """The session holding the advisory lock is alive (checked once a second): after a
        restart of the server another worker may hold the lock, and this one must stop relaying."""
        if time.monotonic() < self._checked + 1.0 or self._pg_connection is None:
            return True
        self._checked = time.monotonic()
        try:
            self._pg_connection.execute(text("SELECT 1")).scalar_one()
            self._pg_connection.commit()
        except DATABASE_ERRORS:
            log.warning("relay lock of %s lost with its database session", self.name)
            self.forget()
            return False
        return True

    def release(self) -> None:
        """Give the lock up, so a relay restarted elsewhere need not wait for the lease."""
        if is_sqlite(self.engine):
            self._lease_until = None
            run_in_transaction(self.engine, self._drop_lease)
        if self._pg_connection is not None:
            self._pg_connection.close()  # closing the session releases the advisory lock
            self._pg_connection = None

    def _has_lease(self) -> bool:
        """Renew the lease only once half of it has run out: a write transaction on every turn of
        an idle relay would contend with the service's commands for SQLite's write lock."""
        now = datetime.now(UTC)
        if self._lease_until is not None and now < self._lease_until - LEASE / 2:
            return True
        self._lease_until = None
        if run_in_transaction(self.engine, self._take_lease):
            self._lease_until = now + LEASE
        return self._lease_until is not None

    def _drop_lease(self, conn: Connection) -> None:
        mine = (relay_lock.c.name == self.name) & (relay_lock.c.owner == self.owner)
        conn.execute(delete(relay_lock).where(mine))

    def _take_lease(self, conn: Connection) -> bool:
        now = datetime.now(UTC)
        expires = now + LEASE
        taken = conn.execute(
            update(relay_lock)
            .where(relay_lock.c.name == self.name)
            .where((relay_lock.c.owner == self.owner) | (relay_lock.c.expires_at < now))
            .values(owner=self.owner, expires_at=expires)
        ).rowcount
        if taken:
            return True
        exists = conn.execute(select(relay_lock.c.owner).where(relay_lock.c.name == self.name))
        if exists.first() is not None:
            return False
        conn.execute(
            insert(relay_lock).values(name=self.name, owner=self.owner, expires_at=expires)
        )
        return True


class Relay:
    """Tails the events table and publishes each row as a CloudEvent to the service's topic."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        service: str,
        topic: str,
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 500,
    ):
        self.engine, self.store, self.service, self.topic = engine, store, service, topic
        self.producer_factory, self.batch_size = producer_factory, batch_size
        self.lock = RelayLock(engine, name=topic)
        self._producer: KafkaProducer | None = None
        self.published_total = 0

    def run(self, stop: threading.Event, idle_sleep: float = 0.02) -> None:
        backoff = 0.1
        while not stop.is_set():
            try:
                if not self.lock.acquire():
                    stop.wait(1.0)
                    continue
                published = self.publish_once()
                backoff = 0.1
                if not published:
                    stop.wait(idle_sleep)
            except KafkaError as error:
                log.warning("relay cannot publish yet (%s); retrying in %.1fs", error, backoff)
                self._drop_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except DATABASE_ERRORS as error:  # restarting or failed over: take the lock afresh
                if not is_unavailable(error):
                    raise
                log.warning("relay cannot reach the database (%s); retrying", error)
                self.lock.forget()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self._drop_producer()
        try:
            self.lock.release()
        except Exception:  # the lease expires by itself; stopping must not fail on it
            log.warning("relay lock of %s not released", self.topic, exc_info=True)

    def publish_once(self) -> int:
        """Publish the next batch after the stored position; returns how many were published."""
        with self.engine.connect() as conn:
            position = self.position(conn)
            batch = self.store.read_after(conn, position, self.batch_size)
            backlog = self._backlog(conn, position, batch)
            conn.rollback()
        metrics.RELAY_BACKLOG.labels(self.service).set(backlog)
        if not batch:
            return 0
        producer = self._ensure_producer()
        futures = [
            producer.send(self.topic, key=key, value=value, headers=headers)
            for key, value, headers in (envelope.encode(e, self.service) for e in batch)
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
        run_in_transaction(self.engine, lambda c: self._save_position(c, batch[-1].position))
        self._published(batch, backlog)
        return len(batch)

    def _backlog(self, conn: Connection, position: int, batch: list[RecordedEvent]) -> int:
        """A batch shorter than the limit is the whole backlog; only a full one asks for more."""
        if len(batch) < self.batch_size:
            return len(batch)
        return self.store.last_position(conn) - position

    def _published(self, batch: list[RecordedEvent], backlog: int) -> None:
        acknowledged = time.time()
        latency = metrics.RELAY_PUBLISH_LATENCY.labels(self.service)
        for event in batch:
            latency.observe(max(0.0, acknowledged - event.occurred_at.timestamp()))
        metrics.RELAY_BACKLOG.labels(self.service).set(backlog - len(batch))
        self.published_total += len(batch)
        log.debug("published %d events to %s", len(batch), self.topic)

    def position(self, conn: Connection) -> int:
        query = select(relay_position.c.position).where(relay_position.c.name == self.topic)
        return int(conn.execute(query).scalar_one_or_none() or 0)

    def backlog(self) -> int:
        """Events stored but not yet published."""
        with self.engine.connect() as conn:
            return self.store.last_position(conn) - self.position(conn)

    def _save_position(self, conn: Connection, position: int) -> None:
        changed = conn.execute(
            update(relay_position)
            .where(relay_position.c.name == self.topic)
            .values(position=position)
        ).rowcount
        if not changed:
            conn.execute(insert(relay_position).values(name=self.topic, position=position))

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # closing a broken producer must not stop the relay
                log.debug("closing producer failed", exc_info=True)
            self._producer = None


def retry_forever(stop: threading.Event, what: str, action: Callable[[], object]) -> bool:
    """Try an action until it succeeds or we are told to stop (used while Kafka is down)."""
    backoff = 0.2
    while not stop.is_set():
        try:
            action()
            return True
        except KafkaError as error:
            log.warning("%s failed (%s); retrying in %.1fs", what, error, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
    return False
