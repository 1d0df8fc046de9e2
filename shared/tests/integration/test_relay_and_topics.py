"""The outbox relay and the topics, against a real Apache Kafka broker."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import KafkaTimeoutError
from sqlalchemy import Engine, select

from waypoint_shared.config import KafkaSettings, topic_of
from waypoint_shared.crypto.sealing import MasterKey, PersonalDataKeys
from waypoint_shared.db.database import connect, migrate, read, run_in_transaction
from waypoint_shared.db.tables import relay_lock
from waypoint_shared.eventstore.repository import Append, EventSourcedRepository
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, EventStore
from waypoint_shared.messaging import relay as relay_module
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.relay import Relay, RelayLock

pytestmark = pytest.mark.kafka
MASTER_KEY = "d2F5cG9pbnQtdGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY="


@dataclass(frozen=True)
class ClientReferred:
    client_id: str
    given_name: str
    family_name: str
    date_of_birth: str
    email: str | None = None
    presenting_concerns: list[str] = field(default_factory=list)


def refer(engine: Engine, given_name: str = "Zoë", email: str = "zoe.okafor@example.org") -> str:
    client_id = str(uuid.uuid4())
    repository = EventSourcedRepository(
        "intake", EventStore(), PersonalDataKeys(MasterKey(MASTER_KEY), "intake"), [ClientReferred]
    )
    event = ClientReferred(client_id, given_name, "Okafor-Ñúñez", "1987-03-14", email, ["sleep"])
    run_in_transaction(
        engine,
        lambda c: repository.record(
            c, Append("clinic-a", client_id, client_id, 0, [event], {"correlation_id": "req-1"})
        ),
    )
    return client_id


def read_topic(settings: KafkaSettings, topic: str, expected: int) -> list[Any]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
        group_id=f"reader-{uuid.uuid4()}",
    )
    records = []
    for record in consumer:
        records.append(record)
        if len(records) >= expected:
            break
    consumer.close()
    return records


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = connect(f"sqlite:///{tmp_path / 'intake.db'}")
    migrate(engine, SHARED_MIGRATIONS)
    return engine


def relay_for(engine: Engine, settings: KafkaSettings) -> Relay:
    return Relay(
        engine,
        EventStore(),
        "intake",
        topic_of("intake", settings.topic_prefix),
        lambda: durable_producer(settings),
    )


def test_the_relay_publishes_stored_events_as_cloudevents_keyed_by_client(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    clients = [refer(engine) for _ in range(3)]
    relay = relay_for(engine, kafka_settings)
    assert relay.publish_once() == 3
    assert relay.backlog() == 0
    records = read_topic(kafka_settings, relay.topic, expected=3)
    events = [JSONFormat().read(None, r.value) for r in records]
    assert sorted(r.key.decode() for r in records) == sorted(clients)
    assert {e.get_subject() for e in events} == set(clients)
    assert all(e.get_type() == "waypoint.intake.client_referred.v2" for e in events)
    assert all(e.get_source() == "/waypoint/intake" for e in events)
    assert all(e.get_extension("tenantid") == "clinic-a" for e in events)
    assert all(dict(r.headers)["content-type"] == b"application/cloudevents+json" for r in records)


def test_no_personal_value_travels_in_plain_text(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    refer(engine, given_name="Zoë", email="zoe.okafor@example.org")
    relay = relay_for(engine, kafka_settings)
    relay.publish_once()
    [record] = read_topic(kafka_settings, relay.topic, expected=1)
    everything = record.key + record.value + b"".join(k.encode() + v for k, v in record.headers)
    for value in ("Zoë", "Zo\\u00eb", "Okafor", "zoe.okafor@example.org", "1987-03-14", "sleep"):
        assert value.encode() not in everything, value


def test_the_relay_keeps_publishing_from_its_stored_position(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    refer(engine)
    first = relay_for(engine, kafka_settings)
    first.publish_once()
    first.lock.release()
    refer(engine)
    second = relay_for(engine, kafka_settings)
    assert second.publish_once() == 1
    assert len(read_topic(kafka_settings, second.topic, expected=2)) == 2


def test_one_relay_per_database_holds_the_lock(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    first, second = relay_for(engine, kafka_settings), relay_for(engine, kafka_settings)
    assert first.lock.acquire()
    assert not second.lock.acquire()
    assert first.lock.acquire()  # the holder renews its lease


def test_an_idle_relay_renews_its_lease_only_once_half_of_it_has_run_out(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "LEASE", timedelta(seconds=0.4))
    lock = RelayLock(engine, "waypoint.intake.events")

    def expiry() -> datetime:
        with read(engine) as conn:
            expires: datetime = conn.execute(select(relay_lock.c.expires_at)).scalar_one()
            return expires

    assert lock.acquire()
    taken = expiry()
    assert lock.acquire() and expiry() == taken  # no write while most of the lease is left
    time.sleep(0.25)
    assert lock.acquire() and expiry() > taken  # renewed past half-time, before anyone can steal it
    assert not RelayLock(engine, "waypoint.intake.events").acquire()


def test_a_running_relay_publishes_what_is_appended_meanwhile(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    relay = relay_for(engine, kafka_settings)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,))
    thread.start()
    try:
        clients = {refer(engine) for _ in range(20)}
        records = read_topic(kafka_settings, relay.topic, expected=20)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert {r.key.decode() for r in records} == clients


def test_topics_keep_events_forever_and_dead_letters_for_fourteen_days(
    kafka_settings: KafkaSettings,
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    prefix = kafka_settings.topic_prefix
    names = {"events": f"{prefix}waypoint.goals.events", "dlq": f"{prefix}waypoint.goals.dlq"}
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in names.values()]
        )
        configs = _configs_by_topic(described)
        partitions = {
            t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(names.values()))
        }
    finally:
        admin.close()
    assert configs[names["events"]]["retention.ms"] == "-1"
    assert configs[names["events"]]["cleanup.policy"] == "delete"
    assert configs[names["dlq"]]["retention.ms"] == str(14 * 24 * 3600 * 1000)
    assert configs[names["dlq"]]["cleanup.policy"] == "delete"
    assert partitions == {n: kafka_settings.partitions for n in names.values()}


def _configs_by_topic(described: dict[str, Any]) -> dict[str, dict[str, str]]:
    """kafka-python 3.0 answers {"topic": {name: {config: {"value": …}}}}."""
    return {
        name: {key: entry["value"] for key, entry in configs.items()}
        for name, configs in described["topic"].items()
    }


def test_producing_to_an_unknown_topic_fails_because_nothing_is_auto_created(
    kafka_bootstrap: str,
) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(f"never-created-{uuid.uuid4()}", b"x").get(timeout=10)
    finally:
        producer.close(timeout=2)
