"""The consumer runner: Kafka records into a service's read models, exactly once in effect.

For each polled batch, ONE database transaction applies the handlers and records the tracking
rows (next offset per partition, and each applied event id). The stored offsets are the truth:
on assignment the consumer seeks to them. An event id already applied is skipped, so a record
published twice or replayed changes nothing. A record that cannot be decoded, or whose handler
keeps failing, goes to the dead-letter topic with its origin in headers, and the runner moves on;
so does a record that fails a trust check (messaging.trust: topic, source and type must name
the same service; some types need a client the service knows).
"""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Connection, Engine, bindparam, select

from waypoint_shared.config import BATCH_RECORDS
from waypoint_shared.db.bulk import BulkInsert
from waypoint_shared.db.database import DATABASE_ERRORS, is_unavailable, run_in_transaction
from waypoint_shared.db.lists import DIALECTS, one_of
from waypoint_shared.db.prepared import Prepared, upserts
from waypoint_shared.db.tables import applied_events, consumer_offsets
from waypoint_shared.messaging import envelope, trust
from waypoint_shared.messaging.envelope import Envelope, UndecodableRecord
from waypoint_shared.observability import logs, metrics

log = logging.getLogger(__name__)
Handle = Callable[[Connection, Envelope], None]
HandleBatch = Callable[[Connection, list[Envelope]], None]
Applied = list[tuple[ConsumerRecord, Envelope]]
HANDLER_ATTEMPTS = 3
MIRROR_EVERY = 1.0  # seconds between two mirrors of the stored offsets to Kafka
_APPLIED = BulkInsert(applied_events)
# A batch's statements, built once: built and keyed per call, they were about a fifth of the time
# of a batch of one event.
_SEEN_BEFORE = {
    dialect: Prepared(
        select(applied_events.c.event_id).where(
            applied_events.c.consumer_group == bindparam("group"),
            one_of(applied_events.c.event_id, "event_ids", dialect),
        )
    )
    for dialect in DIALECTS
}
_STORE_OFFSET = upserts(consumer_offsets, ["consumer_group", "topic", "partition"])
TRACE = re.compile(envelope.TRACE_PATTERN)


@dataclass
class DeadLetter:
    record: ConsumerRecord
    error: str


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, runner: ConsumerRunner):
        self.runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to flush: every applied batch is already committed with its offsets. Offsets
        not yet mirrored to Kafka are left to whoever is assigned the partitions next."""
        self.runner.forget_unmirrored()
        self.runner.awaiting_assignment()

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.runner.seek_to_stored(assigned)
        self.runner.assigned = True
        self.runner.unassigned_since = None


def _learn_partitions(consumer: KafkaConsumer, topics: list[str]) -> None:
    """Have the consumer's metadata show the topics' partitions before it first joins its group.

    Otherwise the join can finish first: the consumer, as the group's leader, assigns nothing,
    the metadata then arriving makes it join again, and kafka-python 3.0 drops the answer of a
    join that finishes between two polls. The group then stays with no partition assigned and
    nothing is consumed until its next rebalance (4 of 76 starts of a group in a test polling
    every 50 ms)."""
    for topic in topics:
        consumer.partitions_for_topic(topic)


class AssignmentOverdue(KafkaTimeoutError):
    """The consumer's group began to (re)assign partitions and never told this consumer its
    share: see `ConsumerRunner.assignment_deadline`."""


class ConsumerRunner:
    """Polls a consumer group and applies records to the database through one handle function.

    A consumer whose group began assigning partitions (its first join, or a rebalance that revoked
    what it had) and that has not been told its share, even an empty one, within
    `assignment_deadline` is replaced by a new one. kafka-python 3.0 can drop the answer of a join
    that finishes between two polls; a consumer that lost it believes it has joined, holds no
    partition and consumes nothing until the group's next rebalance, which may never come. The
    deadline (by default the consumer's `max_poll_interval_ms` plus `session_timeout_ms`) is past
    the time the group's coordinator gives its members to rejoin, so a rebalance that is merely
    slow is never cut short. It relies on the eager assignor the consumers use (Kafka's range
    assignor, `kafka_clients.group_consumer`: each rebalance revokes every partition and then tells
    each member its whole share); a cooperative assignor tells a member only of partitions added,
    and would need another sign."""

    def __init__(
        self,
        engine: Engine,
        group: str,
        topics: list[str],
        handle: Handle,
        consumer_factory: Callable[[], KafkaConsumer],
        producer_factory: Callable[[], KafkaProducer],
        dead_letter_topic: str,
        max_records: int = BATCH_RECORDS,
        handle_batch: HandleBatch | None = None,
        known_client: trust.KnownClient = trust.no_client_known,
        assignment_deadline: float | None = None,
    ):
        """`handle` applies one event; `handle_batch`, when given, applies all of a batch's new
        events in one call instead (a projector that derives once per client per batch).
        `known_client` answers whether the service has a record of a client in a tenant; events
        that destroy or rewrite a client's data are dead-lettered for a client it does not know.
        `assignment_deadline`: seconds a consumer may wait to be told its partitions (above)."""
        self.engine, self.group, self.topics, self.handle = engine, group, topics, handle
        self.handle_batch, self.known_client = handle_batch, known_client
        self.consumer_factory, self.producer_factory = consumer_factory, producer_factory
        self.dead_letter_topic, self.max_records = dead_letter_topic, max_records
        self.consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self.applied_total = 0
        self.assigned = False  # set once the group has given this runner its partitions
        self.assignment_deadline = assignment_deadline
        self.unassigned_since: float | None = None  # when the group began (re)assigning
        self.dead_lettered_total = 0
        self.newest_applied_at: float | None = None  # when the newest applied event was recorded
        self._unmirrored: dict[TopicPartition, OffsetAndMetadata] = {}
        self._mirrored_at = 0.0
        for topic in topics:  # exported as 0 before the first dead letter, so alerts can use it
            metrics.DEAD_LETTERED.labels(group, topic)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                self._ensure_consumer()
                self.poll_once()
                backoff = 0.2
            except Exception as error:  # Kafka or database down: start again from stored offsets
                log.warning("consumer %s: %s; retrying in %.1fs", self.group, error, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.close()

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll one bounded batch and apply it; returns how many records were handled."""
        consumer = self._ensure_consumer()
        polled = consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        self._refuse_overdue_assignment(consumer)
        records = [r for batch in polled.values() for r in batch]
        if records:
            self.apply(records)
        self._commit_to_kafka(records)
        if self.newest_applied_at is not None:
            age = max(0.0, time.time() - self.newest_applied_at)
            metrics.PROJECTION_AGE.labels(self.group).set(age)
        return len(records)

    def apply(self, records: list[ConsumerRecord]) -> None:
        """Apply records in one transaction; if a handler fails, isolate the bad record."""
        with collector_paused():
            self._apply(records)

    def _apply(self, records: list[ConsumerRecord]) -> None:
        decoded = [(r, self._decode(r)) for r in records]
        self._dead_letter(d for _, d in decoded if isinstance(d, DeadLetter))
        good = [(r, d) for r, d in decoded if isinstance(d, Envelope)]
        try:
            applied = run_in_transaction(self.engine, lambda c: self._apply_all(c, good, records))
            self._applied(applied)
        except Exception:
            log.exception("consumer %s: batch failed; applying records one by one", self.group)
            for record, event in good:
                self._apply_alone(record, event)
            run_in_transaction(self.engine, lambda c: self._track_offsets(c, records))

    def _apply_all(self, conn: Connection, good: Applied, records: list[ConsumerRecord]) -> Applied:
        applied = self._apply_new(conn, good)
        self._track_offsets(conn, records)
        return applied

    def _applied(self, applied: Applied) -> None:
        """After the commit: count, note the newest event's time, and log each with its trace."""
        self.applied_total += len(applied)
        for record, event in applied:
            recorded_at = event.time.timestamp()
            self.newest_applied_at = max(self.newest_applied_at or recorded_at, recorded_at)
            log.info(
                "event applied",
                extra={**_trace(event), **_origin(record), "group": self.group},
            )

    def _apply_alone(self, record: ConsumerRecord, event: Envelope) -> None:
        pair = (record, event)
        for attempt in range(1, HANDLER_ATTEMPTS + 1):
            try:
                self._applied(run_in_transaction(self.engine, lambda c: self._apply_new(c, [pair])))
                return
            except DATABASE_ERRORS as error:
                if is_unavailable(error):
                    raise  # the database, not the record: run() starts again from stored offsets
                if attempt == HANDLER_ATTEMPTS:
                    self._dead_letter([DeadLetter(record, f"handler failed: {error!r}")])
            except Exception as error:  # a handler bug must not stop the whole service
                if attempt == HANDLER_ATTEMPTS:
                    self._dead_letter([DeadLetter(record, f"handler failed: {error!r}")])

    def _apply_new(self, conn: Connection, pairs: Applied) -> Applied:
        """Handle the events not applied before (one look-up and one insert for the batch); those
        refused by the known-client check are dead-lettered before the transaction commits."""
        plan_for_this_batch(conn)
        ids = [e.event_id for _, e in pairs]
        found = _SEEN_BEFORE[conn.dialect.name].rows(conn, {"group": self.group, "event_ids": ids})
        seen = {event_id for (event_id,) in found}
        fresh = []
        for record, event in pairs:
            if event.event_id not in seen:  # also skips a duplicate inside the same batch
                seen.add(event.event_id)
                fresh.append((record, event))
        fresh = self._handle_trusted(conn, fresh)
        if fresh:
            rows = [{"consumer_group": self.group, "event_id": e.event_id} for _, e in fresh]
            _APPLIED(conn, rows)
        return fresh

    def _handle_trusted(self, conn: Connection, fresh: Applied) -> Applied:
        """Handle the events; dead-letter those refused by the known-client check and return the
        pairs that were applied."""
        handle_all = self.handle_batch or self._handle_each
        events = [event for _, event in fresh]
        refused = dict(
            (e.event_id, error)
            for e, error in trust.apply_checked(conn, events, handle_all, self.known_client)
        )
        self._dead_letter(
            DeadLetter(r, refused[e.event_id]) for r, e in fresh if e.event_id in refused
        )
        return [(record, event) for record, event in fresh if event.event_id not in refused]

    def _handle_each(self, conn: Connection, events: list[Envelope]) -> None:
        for event in events:
            with logs.log_context(**_trace(event)):
                self.handle(conn, event)

    def _track_offsets(self, conn: Connection, records: Iterable[ConsumerRecord]) -> None:
        latest: dict[tuple[str, int], int] = {}
        for r in records:
            latest[(r.topic, r.partition)] = max(latest.get((r.topic, r.partition), -1), r.offset)
        for (topic, partition), offset in latest.items():
            self._store_offset(conn, topic, partition, offset + 1)

    def _store_offset(self, conn: Connection, topic: str, partition: int, next_offset: int) -> None:
        row = {
            "consumer_group": self.group,
            "topic": topic,
            "partition": partition,
            "next_offset": next_offset,
        }
        _STORE_OFFSET[conn.dialect.name].rows(conn, row)

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(consumer_offsets).where(consumer_offsets.c.consumer_group == self.group)
            )
            return {(r.topic, r.partition): r.next_offset for r in rows}

    def seek_to_stored(self, assigned: Iterable[TopicPartition]) -> None:
        stored = self.stored_offsets()
        consumer = self._ensure_consumer()
        for tp in assigned:
            if (tp.topic, tp.partition) in stored:
                consumer.seek(tp, stored[(tp.topic, tp.partition)])
            else:
                consumer.seek_to_beginning(tp)

    def _decode(self, record: ConsumerRecord) -> Envelope | DeadLetter:
        try:
            event = envelope.decode(record.value)
        except UndecodableRecord as error:
            return DeadLetter(record, str(error)[:500])
        refused = trust.origin_error(record.topic, event)
        return event if refused is None else DeadLetter(record, refused)

    def _dead_letter(self, letters: Iterable[DeadLetter]) -> None:
        letters = list(letters)
        if not letters:
            return
        producer = self._ensure_producer()
        futures = [
            producer.send(
                self.dead_letter_topic,
                key=d.record.key,
                value=d.record.value,
                headers=_origin_headers(d),
            )
            for d in letters
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
        self.dead_lettered_total += len(letters)
        for d in letters:
            metrics.DEAD_LETTERED.labels(self.group, d.record.topic).inc()
            log.warning(
                "record dead-lettered",
                extra={
                    **_raw_trace(d.record),
                    **_origin(d.record),
                    "group": self.group,
                    "dead_letter_topic": self.dead_letter_topic,
                    "error": d.error,
                },
            )

    def _commit_to_kafka(self, records: list[ConsumerRecord]) -> None:
        """Mirror stored offsets to Kafka so lag tools see them, at most once every MIRROR_EVERY
        seconds (a commit per batch was about a fifth of the broker's work under a steady trickle of
        events). The database stays the truth, so the next poll need not wait for the
        coordinator's answer."""
        for r in records:
            self._unmirrored[TopicPartition(r.topic, r.partition)] = OffsetAndMetadata(
                r.offset + 1, "", -1
            )
        if not self._unmirrored or time.monotonic() < self._mirrored_at + MIRROR_EVERY:
            return
        offsets, self._unmirrored = self._unmirrored, {}
        self._mirrored_at = time.monotonic()
        try:
            self._ensure_consumer().commit_async(offsets, callback=self._mirrored)
        except KafkaError as error:
            self._mirrored(offsets, error)

    def _mirrored(self, offsets: object, outcome: object) -> None:
        """The mirror's outcome, when the coordinator answers (or at once if it cannot be sent)."""
        if isinstance(outcome, Exception):
            log.info("consumer %s: offset mirror to Kafka failed: %s", self.group, outcome)

    def awaiting_assignment(self) -> None:
        """The group began (re)assigning partitions: the deadline runs from the first sign."""
        if self.unassigned_since is None:
            self.unassigned_since = time.monotonic()

    def _refuse_overdue_assignment(self, consumer: KafkaConsumer) -> None:
        """Raise AssignmentOverdue when the consumer has waited past the deadline for its share
        (`run` then closes it and makes a new one, from the stored offsets)."""
        if self.unassigned_since is None:
            return
        deadline = self.assignment_deadline
        if deadline is None:
            config = consumer.config
            deadline = (config["max_poll_interval_ms"] + config["session_timeout_ms"]) / 1000
        waited = time.monotonic() - self.unassigned_since
        if waited > deadline:
            raise AssignmentOverdue(
                f"no partitions assigned {waited:.0f} s after the group began assigning them"
            )

    def _ensure_consumer(self) -> KafkaConsumer:
        if self.consumer is None:
            consumer = self.consumer_factory()
            self.consumer = consumer
            self.unassigned_since = time.monotonic()  # a new consumer awaits its first share
            consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self))
            _learn_partitions(consumer, self.topics)
        return self.consumer

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def forget_unmirrored(self) -> None:
        self._unmirrored = {}

    def close(self) -> None:
        self.forget_unmirrored()
        consumer, producer, self.consumer, self._producer = (
            self.consumer,
            self._producer,
            None,
            None,
        )
        try:
            if consumer is not None:
                consumer.close(autocommit=False)
            if producer is not None:
                producer.close(timeout=5)
        except Exception:  # closing after a failure must not raise a second one
            log.debug("closing kafka clients failed", exc_info=True)


def plan_for_this_batch(conn: Connection) -> None:
    """On PostgreSQL, plan each of the transaction's statements for its own parameters.

    A batch's statements take lists of ids (`db.lists.one_of`: `column = ANY(:ids)`), a thousand
    or one. psycopg prepares a statement it has run five times, and after five more PostgreSQL
    may keep one generic plan for it, made without the parameters and from the tables'
    statistics. Until autovacuum first analyzes a table that filled quickly (a new deployment
    catching up, a replay), those say it is nearly empty, and the generic plan of the applied-id
    look-up found the ids by reading every applied id of the consumer group: each batch slower
    than the one before, from 160 ms to 940 ms by the 25th thousand events. A plan made for the
    batch's own ids looks each one up in the index; planning it costs well under a millisecond
    a batch."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch is applied. A batch allocates
    many short-lived objects, nearly all freed by reference counting as they go; each collection
    they trigger on the way also walks every long-lived object of the process (the SQL and Kafka
    clients' own) and finds nothing to free: about a fifth of a batch's time. It runs again
    after the batch, as usual."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _trace(event: Envelope) -> dict[str, object]:
    return {
        "correlation_id": event.correlation_id,
        "tenant": event.tenant_id,
        "client_id": event.client_id,
        "event_type": event.type,
        "event_id": event.event_id,
    }


def _origin(record: ConsumerRecord) -> dict[str, object]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}


def _raw_trace(record: ConsumerRecord) -> dict[str, object]:
    """What a record that did not decode still says about itself, if it has the right form."""
    try:
        attributes = json.loads(record.value or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(attributes, dict):
        return {}
    fields = {
        "correlation_id": "correlationid",
        "tenant": "tenantid",
        "client_id": "subject",
        "event_type": "type",
        "event_id": "id",
    }
    return {
        name: attributes[key]
        for name, key in fields.items()
        if isinstance(attributes.get(key), str) and TRACE.fullmatch(attributes[key])
    }


def _origin_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    record = letter.record
    return [
        *list(record.headers or []),
        ("dlq.topic", record.topic.encode()),
        ("dlq.partition", str(record.partition).encode()),
        ("dlq.offset", str(record.offset).encode()),
        ("dlq.error", letter.error.encode()[:1000]),
    ]
