"""Bytes per event, measured with real stores and a real broker: 10,000 events of the rebuild
benchmark's journey mix (1,000 clients x 10 events over the three services) appended to an
events table on SQLite and on PostgreSQL (table with its indexes and TOAST), and published as
CloudEvents to three topics (the records' own bytes, and the broker's log segments on disk, per
replica). docs/scaling.md builds its capacity model on these figures."""

from __future__ import annotations

import statistics
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from common import broker, save
from rebuild_throughput import journey_events
from sqlalchemy import Engine, text

from waypoint_devkit.infrastructure import local_postgres
from waypoint_shared.config import SERVICES, KafkaSettings, topic_of
from waypoint_shared.db.database import connect, migrate, run_in_transaction
from waypoint_shared.eventstore.store import (
    SHARED_MIGRATIONS,
    Append,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from waypoint_shared.messaging.envelope import encode
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.topics import ensure_topics

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
Journey = list[tuple[str, RecordedEvent]]


def journeys() -> list[Journey]:
    """The clients' events, each with the audit trail a command gives it."""
    return [
        [(service, replace(event, metadata=metadata())) for service, event in journey_events(c)]
        for c in (str(uuid.uuid4()) for _ in range(EVENTS // 10))
    ]


def metadata() -> dict[str, object]:
    """What runtime.request_metadata writes: the platform and person acting, the request ids."""
    request_id = str(uuid.uuid4())
    return {
        "actor": {"system": "clinic-platform", "person": {"role": "therapist", "id": "t-1042"}},
        "correlation_id": str(uuid.uuid4()),
        "causation_id": request_id,
        "request_id": request_id,
    }


def append_all(engine: Engine, clients: list[Journey]) -> None:
    store = EventStore()
    for client in clients:
        appends = [
            Append(
                "bench",
                event.stream_id,
                event.client_id,
                None,
                [NewEvent(event.type, 1, event.data)],
                event.metadata,
            )
            for _, event in client
        ]
        run_in_transaction(engine, lambda c, a=appends: store.append(c, a))


def stored_bytes(url: str, measure: Callable[[Engine], int], clients: list[Journey]) -> float:
    engine = connect(url)
    migrate(engine, SHARED_MIGRATIONS)
    append_all(engine, clients)
    size = measure(engine)
    engine.dispose()
    return size / EVENTS


def sqlite_events_bytes(engine: Engine) -> int:
    """Pages of the events table and of its indexes (SQLite's dbstat)."""
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT name FROM sqlite_master WHERE tbl_name = 'events'")
        ).scalars()
        sql = "SELECT SUM(pgsize) FROM dbstat WHERE name IN ({})".format(
            ",".join(f"'{n}'" for n in names)
        )
        return int(conn.execute(text(sql)).scalar_one())


def postgres_events_bytes(engine: Engine) -> int:
    """The events table with its indexes and TOAST, after VACUUM (pg_total_relation_size)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE events"))
        return int(conn.execute(text("SELECT pg_total_relation_size('events')")).scalar_one())


def publish(settings: KafkaSettings, clients: list[Journey]) -> dict[str, list[int]]:
    """Every event as its relay sends it; the record bytes (key, value, headers) by type."""
    producer, sizes = durable_producer(settings), defaultdict(list)
    for client in clients:
        for service, event in client:
            key, value, headers = encode(event, service)
            producer.send(
                topic_of(service, settings.topic_prefix), key=key, value=value, headers=headers
            )
            own = len(key) + len(value) + sum(len(k) + len(v) for k, v in headers)
            sizes[event.type.split(".")[2]].append(own)
    producer.flush()
    producer.close()
    return sizes


def log_bytes(data_dir: Path, prefix: str) -> int:
    """The broker's log segments of the three event topics (one replica)."""
    topics = [topic_of(s, prefix) for s in SERVICES]
    return sum(
        f.stat().st_size
        for d in data_dir.iterdir()
        if d.is_dir() and d.name.rsplit("-", 1)[0] in topics
        for f in d.glob("*.log")
    )


def main() -> None:
    clients = journeys()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sqlite = stored_bytes(f"sqlite:///{work / 'events.db'}", sqlite_events_bytes, clients)
        with local_postgres(work / "postgres") as server:
            url = server.create_database("sizes")
            postgres = stored_bytes(url, postgres_events_bytes, clients)
        with broker(work) as bootstrap_servers:
            settings = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix="bench.")
            ensure_topics(settings)
            by_type = publish(settings, clients)
            on_disk = log_bytes(work / "kafka" / "data", settings.topic_prefix)
    records = [size for sizes in by_type.values() for size in sizes]
    save(
        "event_sizes",
        {
            "events": EVENTS,
            "sqlite_bytes_per_event": round(sqlite, 1),
            "postgres_bytes_per_event": round(postgres, 1),
            "record_bytes_per_event": round(statistics.mean(records), 1),
            "topic_log_bytes_per_event": round(on_disk / EVENTS, 1),
            "record_bytes_by_type": {
                t: round(statistics.mean(s)) for t, s in sorted(by_type.items())
            },
            "settings": "1,000 clients x the rebuild benchmark's 10-event journey; events table "
            "with indexes (SQLite dbstat; PostgreSQL pg_total_relation_size after VACUUM); "
            "records as the relay encodes them; log segments of one replica, no compression",
        },
    )


if __name__ == "__main__":
    main()
