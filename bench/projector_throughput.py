"""Projector throughput: events the timeline projector applies per second (consumer runner, one
transaction per batch, tracking rows) ÷ a raw kafka-python consumer that polls the same records
and JSON-decodes them, measured before and after the projector, the faster counting. Target ≥ 0.5.
Runs on each store BENCH_STORE names (progress's database on SQLite or PostgreSQL)."""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from common import broker, by_store, databases, own_topics, raw_consumer_rate, save, stores

from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import BATCH_RECORDS, KafkaSettings, load_settings
from waypoint_shared.crypto.sealing import AESGCM, Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.envelope import encode
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.topics import ensure_topics

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
KEY = AESGCM.generate_key(bit_length=256)


def referral(client_id: str) -> RecordedEvent:
    place = Place("intake", "bench", client_id, "waypoint.intake.client_referred.v1", "")
    names = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}
    sealed = seal_fields(KEY, place, names, names)
    return RecordedEvent(
        1,
        str(uuid.uuid4()),
        "bench",
        client_id,
        1,
        client_id,
        "waypoint.intake.client_referred.v1",
        1,
        datetime.now(UTC),
        {"client_id": client_id, **sealed},
        {},
    )


def publish(settings: KafkaSettings, topic: str) -> None:
    producer = durable_producer(settings)
    for _ in range(EVENTS):
        key, value, headers = encode(referral(str(uuid.uuid4())), "intake")
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    producer.close()


def projector_rate(settings: KafkaSettings, work_dir: Path, database_url: str) -> float:
    progress = bootstrap(
        load_settings(
            "progress",
            {
                "WAYPOINT_VAR_DIR": str(work_dir),
                "PROGRESS_DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                "WAYPOINT_TOPIC_PREFIX": settings.topic_prefix,
            },
        )
    )
    group = progress.settings.consumer_group
    runner = ConsumerRunner(
        progress.engine,
        group,
        [progress.settings.topic_of("intake")],
        progress.projector.handle,
        lambda: group_consumer(settings, group),
        lambda: durable_producer(settings),
        progress.settings.dead_letter_topic,
        handle_batch=progress.projector.handle_all,
        known_client=progress.projector.knows,
    )
    started, before = None, 0
    while runner.applied_total < EVENTS:
        handled = runner.poll_once(timeout_ms=1000)
        if handled and started is None:  # from the end of the first batch: joining the group
            started, before = time.perf_counter(), runner.applied_total  # is not projecting
    elapsed = time.perf_counter() - started  # type: ignore[operator]
    runner.close()
    progress.engine.dispose()
    return (EVENTS - before) / elapsed


def measure(store: str, settings: KafkaSettings, work_dir: Path) -> dict[str, object]:
    """Both rates on one store, over the same records on topics of the store's run."""
    settings = own_topics(settings, store)
    ensure_topics(settings)
    topic = f"{settings.topic_prefix}waypoint.intake.events"
    publish(settings, topic)
    raw = raw_consumer_rate(settings, [topic], EVENTS)
    with databases(store, work_dir) as database:
        ours = projector_rate(settings, work_dir, database("progress"))
    raw = max(raw, raw_consumer_rate(settings, [topic], EVENTS))
    return {"raw_consumer_per_s": raw, "projector_per_s": ours, "projector_ratio": ours / raw}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap_servers:
        settings = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix="bench.")
        figures = {store: measure(store, settings, Path(tmp) / store) for store in stores()}
    save(
        "projector_throughput",
        {
            "events": EVENTS,
            **by_store(figures, "projector_ratio"),
            "target": 0.5,
            "settings": f"up to {BATCH_RECORDS} records per poll, one transaction per batch, "
            "3 partitions; SQLite synchronous=FULL, PostgreSQL synchronous_commit=on",
        },
    )


if __name__ == "__main__":
    main()
