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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Text,
    bindparam,
    cast,
    delete,
    insert,
    select,
    text,
    update,
)

from waypoint_shared.db.database import (
    DATABASE_ERRORS,
    is_sqlite,
    is_unavailable,
    run_in_transaction,
    stored_utc,
)
from waypoint_shared.db.prepared import upserts
from waypoint_shared.db.tables import events, relay_lock, relay_position
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.messaging import wire
from waypoint_shared.messaging.partitions import partition_of
from waypoint_shared.messaging.wakeup import Commits, Waiting, commits_of
from waypoint_shared.observability import metrics

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=5)
ADVISORY_LOCK_KEY = 7245002
# The relay's stored position, read and written through statements built once.
_POSITION = select(relay_position.c.position).where(relay_position.c.name == bindparam("name"))
_SAVE_POSITION = upserts(relay_position, ["name"])


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


@dataclass(frozen=True)
class _InFlight:
    """A batch sent and not yet acknowledged: its last position, when its events were recorded,
    the backlog left behind it, and the producer's futures of its records."""

    last_position: int
    recorded: list[datetime]
    backlog: int
    futures: list[FutureRecordMetadata]


class Relay:
    """Tails the events table and publishes each row as a CloudEvent to the service's topic.

    While running, the next batch is read, encoded and sent while the one before it is still in
    flight; a batch's position is stored only once every record of it and of the batches before
    it is acknowledged. On any failure the producer is closed at once, dropping what it has not
    sent yet, and publishing starts again after the stored position, in order.
    """

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        service: str,
        topic: str,
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 500,
        commits: Commits | None = None,
    ):
        self.engine, self.store, self.service, self.topic = engine, store, service, topic
        self.producer_factory, self.batch_size = producer_factory, batch_size
        self.commits = commits
        self.lock = RelayLock(engine, name=topic)
        self._producer: KafkaProducer | None = None
        self._in_flight: _InFlight | None = None
        self.published_total = 0

    def run(self, stop: threading.Event, idle_sleep: float = 0.02) -> None:
        """Publish until stopped. Idle, wait for a commit (or at most a growing timeout, from
        idle_sleep to a second) rather than query the outbox over and over."""
        waiting = Waiting(self.commits or commits_of(self.engine), shortest=idle_sleep)
        backoff = 0.1
        while not stop.is_set():
            try:
                if not self.lock.acquire():
                    self._abandon()
                    stop.wait(1.0)
                    continue
                if self.publish_next():
                    waiting.busy()
                else:
                    waiting.idle(stop)
                backoff = 0.1
            except KafkaError as error:
                log.warning("relay cannot publish yet (%s); retrying in %.1fs", error, backoff)
                self._abandon()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except DATABASE_ERRORS as error:  # restarting or failed over: take the lock afresh
                if not is_unavailable(error):
                    raise
                log.warning("relay cannot reach the database (%s); retrying", error)
                self._abandon()
                self.lock.forget()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self._stop(waiting)

    def _stop(self, waiting: Waiting) -> None:
        try:
            self._finish()
        except KafkaError:  # what was not acknowledged is published again by the next relay
            self._abandon()
        self._drop_producer()
        waiting.commits.close()
        try:
            self.lock.release()
        except Exception:  # the lease expires by itself; stopping must not fail on it
            log.warning("relay lock of %s not released", self.topic, exc_info=True)

    def publish_once(self) -> int:
        """Publish the next batch after the stored position and wait until it is acknowledged
        and its position stored; returns how many were published."""
        self._finish()
        sent = self._send_next()
        if sent is None:
            return 0
        self._in_flight = sent
        self._finish()
        return len(sent.futures)

    def publish_next(self) -> int:
        """One turn of a running relay: send the batch after the last one sent, then wait for
        that one and store its position. Returns how many events were sent or stored."""
        earlier = self._in_flight
        sent = self._send_next()
        if sent is None:
            self._finish()
            return len(earlier.futures) if earlier else 0
        self._in_flight = sent
        if earlier is not None:
            self._complete(earlier)
        return len(sent.futures)

    def _send_next(self) -> _InFlight | None:
        """Read the batch after the last position sent (or stored) and hand it to the producer."""
        with self.engine.connect() as conn:
            after = self._in_flight.last_position if self._in_flight else self.position(conn)
            rows = conn.execute(_OUTBOX, {"after": after, "limit": self.batch_size}).all()
            backlog = self._backlog(conn, after, rows)
            conn.rollback()
        metrics.RELAY_BACKLOG.labels(self.service).set(backlog)
        if not rows:
            return None
        producer = self._ensure_producer()
        partitions = sorted(producer.partitions_for(self.topic))
        futures, recorded = [], []
        for row in rows:
            occurred = stored_utc(row.occurred_at)
            key, value, headers = wire.record(row.client_id, self._value(row, occurred))
            partition = partition_of(key, partitions)  # where the producer would put it
            futures.append(
                producer.send(
                    self.topic, key=key, value=value, headers=headers, partition=partition
                )
            )
            recorded.append(occurred)
        return _InFlight(rows[-1].position, recorded, backlog - len(rows), futures)

    def _value(self, row: Row[Any], occurred: datetime) -> bytes:
        trace = (row.correlation_id, row.causation_id)
        return wire.structured_value(row, self.service, occurred, trace, row.data)

    def _finish(self) -> None:
        """Send what the producer holds at once and complete the batch in flight, if any."""
        if self._in_flight is None:
            return
        self._ensure_producer().flush(timeout=30)
        self._complete(self._in_flight)

    def _complete(self, batch: _InFlight) -> None:
        """Wait for every record of the batch, then store its last position."""
        for future in batch.futures:
            future.get(timeout=30)
        run_in_transaction(self.engine, lambda c: self._save_position(c, batch.last_position))
        if self._in_flight is batch:
            self._in_flight = None
        self._published(batch)

    def _abandon(self) -> None:
        """Forget what is in flight and drop what the producer has not sent: publishing starts
        again after the stored position, so no later record overtakes one that failed."""
        self._in_flight = None
        if self._producer is not None:
            _close_now(self._producer)
            self._producer = None

    def _backlog(self, conn: Connection, position: int, rows: Sequence[object]) -> int:
        """A batch shorter than the limit is the whole backlog; only a full one asks for more."""
        if len(rows) < self.batch_size:
            return len(rows)
        return self.store.last_position(conn) - position

    def _published(self, batch: _InFlight) -> None:
        acknowledged = time.time()
        latency = metrics.RELAY_PUBLISH_LATENCY.labels(self.service)
        for recorded in batch.recorded:
            latency.observe(max(0.0, acknowledged - recorded.timestamp()))
        if self._in_flight is None:
            metrics.RELAY_BACKLOG.labels(self.service).set(batch.backlog)
        self.published_total += len(batch.futures)
        log.debug("published %d events to %s", len(batch.futures), self.topic)

    def position(self, conn: Connection) -> int:
        return int(conn.execute(_POSITION, {"name": self.topic}).scalar_one_or_none() or 0)

    def backlog(self) -> int:
        """Events stored but not yet published."""
        with self.engine.connect() as conn:
            return self.store.last_position(conn) - self.position(conn)

    def _save_position(self, conn: Connection, position: int) -> None:
        _SAVE_POSITION[conn.dialect.name].rows(conn, {"name": self.topic, "position": position})

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
                _close_now(self._producer)
            self._producer = None


# The outbox as the relay reads it: `data` as the JSON text stored (placed into the record as it
# is), the trace ids taken out of `metadata` by the database.
_OUTBOX = (
    select(
        events.c.position,
        events.c.event_id,
        events.c.tenant_id,
        events.c.client_id,
        events.c.type,
        events.c.stream_version,
        events.c.occurred_at,
        cast(events.c.data, Text).label("data"),
        events.c.metadata["correlation_id"].as_string().label("correlation_id"),
        events.c.metadata["causation_id"].as_string().label("causation_id"),
    )
    .where(events.c.position > bindparam("after"))
    .order_by(events.c.position)
    .limit(bindparam("limit"))
)


def _close_now(producer: KafkaProducer) -> None:
    """Close a producer without sending what it still holds. kafka-python's close() flushes
    first and gives up (raising) when that times out, leaving its I/O thread running; forcing
    that thread closed fails the records it holds instead of sending them later."""
    try:
        producer.close(timeout=0)
        return
    except Exception:
        log.debug("producer held unsent records; closing it by force", exc_info=True)
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(timeout=5)


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
