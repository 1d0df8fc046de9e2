"""On PostgreSQL, concurrent writers can commit positions out of order; a tailing relay would then
skip an event for good. The append lock prevents it — and without it, this test sees the skip."""

from __future__ import annotations

import json
import multiprocessing
import random
import threading
import time
import uuid

import pytest
from kafka import KafkaConsumer
from kafka.admin import NewTopic
from sqlalchemy import Connection, select

from waypoint_shared.config import KafkaSettings
from waypoint_shared.db.database import connect, migrate, run_in_transaction
from waypoint_shared.db.tables import events
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, Append, EventStore, NewEvent
from waypoint_shared.messaging import wakeup
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.relay import Relay
from waypoint_shared.messaging.topics import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]
WRITERS, EVENTS_PER_WRITER = 8, 625  # 5,000 events
TYPE = "waypoint.test.thing_happened.v1"


def write_events(url: str, serialize_appends: bool, count: int) -> None:
    """One writer process: many small appends, each holding its transaction open a moment."""
    engine = connect(url)
    store = EventStore(serialize_appends=serialize_appends)

    def one(conn: Connection) -> None:
        stream = str(uuid.uuid4())
        store.append(conn, [Append("clinic-a", stream, stream, 0, [NewEvent(TYPE, 1, {})], {})])
        time.sleep(random.random() / 500)  # a commit that takes a little while

    for _ in range(count):
        run_in_transaction(engine, one)
    engine.dispose()


def published_vs_stored(
    url: str, settings: KafkaSettings, serialize_appends: bool
) -> tuple[list[str], list[str]]:
    engine = connect(url)
    migrate(engine, [*SHARED_MIGRATIONS, *wakeup.MIGRATIONS])  # as a service's start does
    topic = f"{settings.topic_prefix}ordering-{serialize_appends}"
    ensure_topics(settings, [NewTopic(topic, 1, 1)])
    relay = Relay(engine, EventStore(), "test", topic, lambda: durable_producer(settings))
    stop = threading.Event()
    tail = threading.Thread(target=relay.run, args=(stop, 0.001))
    tail.start()
    spawn = multiprocessing.get_context("spawn")
    writers = [
        spawn.Process(target=write_events, args=(url, serialize_appends, EVENTS_PER_WRITER))
        for _ in range(WRITERS)
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=240)
        assert w.exitcode == 0
    time.sleep(1.0)  # let the relay catch up with the last commits
    stop.set()
    tail.join(timeout=30)
    stored = run_in_transaction(
        engine,
        lambda c: list(c.execute(select(events.c.event_id).order_by(events.c.position)).scalars()),
    )
    return read_all(settings, topic), stored


def read_all(settings: KafkaSettings, topic: str) -> list[str]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
        group_id=f"reader-{uuid.uuid4()}",
    )
    ids = [json.loads(r.value)["id"] for r in consumer]
    consumer.close()
    return ids


def test_with_the_append_lock_the_relay_publishes_every_event_in_store_order(
    postgres_url: str, kafka_settings: KafkaSettings
) -> None:
    published, stored = published_vs_stored(postgres_url, kafka_settings, True)
    assert len(stored) == WRITERS * EVENTS_PER_WRITER
    assert published == stored


def test_without_the_append_lock_a_tailing_relay_skips_events(
    postgres_url: str, kafka_settings: KafkaSettings
) -> None:
    published, stored = published_vs_stored(postgres_url, kafka_settings, False)
    missing = set(stored) - set(published)
    assert len(stored) == WRITERS * EVENTS_PER_WRITER
    assert missing, "without the lock, out-of-order commits should make the relay skip events"
