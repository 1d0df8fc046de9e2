"""Relay throughput: events the outbox relay publishes per second ÷ a raw kafka-python producer
(a `send()` loop, then one `flush()`) sending the same records with the same durability settings
(`acks="all"`, idempotence on), measured before and after the relay, the faster counting.
Target ≥ 0.8. Runs on each store BENCH_STORE names."""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from common import broker, by_store, databases, save, stores
from kafka.admin import NewTopic
from sqlalchemy import Engine

from waypoint_intake.domain.client import Client
from waypoint_intake.domain.events import CLIENT_EVENTS
from waypoint_shared.config import KafkaSettings
from waypoint_shared.crypto.sealing import MasterKey, PersonalDataKeys
from waypoint_shared.db.database import connect, migrate, read, run_in_transaction
from waypoint_shared.eventstore.repository import Append, EventSourcedRepository
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, EventStore
from waypoint_shared.messaging.envelope import encode
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.relay import Relay
from waypoint_shared.messaging.topics import ensure_topics

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
MASTER_KEY = "YmVuY2htYXJrLW1hc3Rlci1rZXktMDEyMzQ1Njc4OTA="


def stored_referrals(engine: Engine, count: int) -> None:
    """count client_referred events, sealed as the service stores them, 500 per transaction."""
    repository = EventSourcedRepository(
        "intake", EventStore(), PersonalDataKeys(MasterKey(MASTER_KEY), "intake"), CLIENT_EVENTS
    )

    def batch(conn):  # type: ignore[no-untyped-def]
        for _ in range(500):
            client_id = str(uuid.uuid4())
            event = Client.refer(
                client_id,
                date.today(),
                given_name="Amara",
                family_name="Osei",
                date_of_birth="1992-06-30",
                email="amara@example.org",
            )
            repository.record(conn, Append("bench", client_id, client_id, 0, [event], {}))

    for _ in range(count // 500):
        run_in_transaction(engine, batch)


def raw_producer_rate(settings: KafkaSettings, topic: str, records: list) -> float:
    producer = durable_producer(settings)
    started = time.perf_counter()
    for key, value, headers in records:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(records) / elapsed


def relay_rate(engine: Engine, settings: KafkaSettings, topic: str) -> float:
    relay = Relay(engine, EventStore(), "intake", topic, lambda: durable_producer(settings))
    relay.lock.acquire()
    started = time.perf_counter()
    while relay.publish_next():  # as a running relay turns: the next batch sent meanwhile
        pass
    return EVENTS / (time.perf_counter() - started)


def measure(store: str, settings: KafkaSettings, work_dir: Path) -> dict[str, object]:
    """Both rates on one store: the raw producer sends the very records the relay will."""
    topics = (f"bench.{store}.raw", f"bench.{store}.relay")
    ensure_topics(settings, [NewTopic(t, 3, 1) for t in topics])
    with databases(store, work_dir) as database:
        engine = connect(database("intake"))
        migrate(engine, SHARED_MIGRATIONS)
        stored_referrals(engine, EVENTS)
        with read(engine) as conn:
            records = [encode(e, "intake") for e in EventStore().read_after(conn, 0, EVENTS)]
        # raw before and after the relay, the faster one counting: a busy moment of the shared
        # machine during one raw run must not flatter the ratio
        raw = raw_producer_rate(settings, topics[0], records)
        ours = relay_rate(engine, settings, topics[1])
        raw = max(raw, raw_producer_rate(settings, topics[0], records))
        engine.dispose()
    return {"raw_producer_per_s": raw, "relay_per_s": ours, "relay_ratio": ours / raw}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap:
        settings = KafkaSettings(bootstrap_servers=bootstrap)
        figures = {store: measure(store, settings, Path(tmp) / store) for store in stores()}
    save(
        "relay_throughput",
        {
            "events": EVENTS,
            **by_store(figures, "relay_ratio"),
            "target": 0.8,
            "settings": "acks=all, idempotence on, linger 5 ms, batches of "
            "500 rows, 3 partitions; SQLite synchronous=FULL, PostgreSQL synchronous_commit=on",
        },
    )


if __name__ == "__main__":
    main()
