"""The consumer runner against a real broker: each event applied once, whatever Kafka delivers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, insert, select

from waypoint_devkit.faults import erasure_record, referral_record
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import KafkaSettings
from waypoint_shared.db.database import (
    Migration,
    connect,
    create_tables,
    migrate,
    read,
    run_in_transaction,
)
from waypoint_shared.db.tables import consumer_offsets
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS, RecordedEvent
from waypoint_shared.messaging.consumer import MIRROR_EVERY, ConsumerRunner, Handle
from waypoint_shared.messaging.envelope import Envelope, encode
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.topics import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]
seen_table = Table("seen", MetaData(), Column("event_id", String(36)))


def a_milestone(client_id: str) -> RecordedEvent:
    data = {
        "milestone_id": str(uuid.uuid4()),
        "client_id": client_id,
        "rule": "r",
        "title": "t",
        "reached_at": "2026-01-01T00:00:00+00:00",
        "source_service": "intake",
        "source_event_id": str(uuid.uuid4()),
    }
    return RecordedEvent(
        1,
        str(uuid.uuid4()),
        "clinic-a",
        client_id,
        1,
        client_id,
        "waypoint.progress.milestone_reached.v1",
        1,
        datetime.now(UTC),
        data,
        {},
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = connect(f"sqlite:///{tmp_path / 'view.db'}")
    migrate(engine, [*SHARED_MIGRATIONS, Migration("test-seen", create_tables(seen_table))])
    yield engine
    engine.dispose()


def runner(
    engine: Engine, settings: KafkaSettings, handle: Handle, topic: str, **options: Any
) -> ConsumerRunner:
    group = f"{settings.topic_prefix}group"
    return ConsumerRunner(
        engine,
        group,
        [topic],
        handle,
        lambda: group_consumer(
            settings, group, session_timeout_ms=6000, heartbeat_interval_ms=2000
        ),
        lambda: durable_producer(settings),
        f"{settings.topic_prefix}dlq",
        **options,
    )


def record_seen(conn: Connection, event: Envelope) -> None:
    conn.execute(insert(seen_table).values(event_id=event.event_id))


def seen(engine: Engine) -> list[str]:
    with read(engine) as conn:
        return list(conn.execute(select(seen_table.c.event_id)).scalars())


def produce(settings: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    for value in values:
        producer.send(topic, key=b"k", value=value).get(timeout=10)
    producer.close()


@pytest.fixture
def topic(kafka_settings: KafkaSettings) -> str:
    from kafka.admin import NewTopic

    name = f"{kafka_settings.topic_prefix}runner.waypoint.progress.events"
    ensure_topics(
        kafka_settings, [NewTopic(name, 1, 1), NewTopic(f"{kafka_settings.topic_prefix}dlq", 1, 1)]
    )
    return name


def test_an_event_delivered_three_times_in_one_batch_is_applied_once(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    _, value, _ = encode(a_milestone(str(uuid.uuid4())), "progress")
    produce(kafka_settings, topic, [value, value, value])
    consumer = runner(engine, kafka_settings, record_seen, topic)
    wait_until(
        lambda: consumer.poll_once() >= 0 and sum(consumer.stored_offsets().values()) == 3,
        what="three records tracked",
    )
    consumer.close()
    assert len(seen(engine)) == 1


def test_a_batch_handler_gets_each_new_event_of_a_poll_once_in_one_call(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    values = [encode(a_milestone(str(uuid.uuid4())), "progress")[1] for _ in range(4)]
    produce(kafka_settings, topic, [*values, values[0]])
    calls: list[list[str]] = []

    def record_batch(conn: Connection, events: list[Envelope]) -> None:
        calls.append([e.event_id for e in events])
        for event in events:
            record_seen(conn, event)

    consumer = runner(engine, kafka_settings, record_seen, topic, handle_batch=record_batch)
    wait_until(
        lambda: consumer.poll_once() >= 0 and sum(consumer.stored_offsets().values()) == 5,
        what="five records tracked",
    )
    consumer.close()
    handed = [event_id for call in calls for event_id in call]
    assert sorted(handed) == sorted(seen(engine)) and len(handed) == 4  # the duplicate left out
    assert all(calls)  # never called with nothing new


def test_a_replay_from_offset_zero_changes_nothing(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    values = [encode(a_milestone(str(uuid.uuid4())), "progress")[1] for _ in range(5)]
    produce(kafka_settings, topic, values)
    first = runner(engine, kafka_settings, record_seen, topic)
    wait_until(lambda: first.poll_once() >= 0 and len(seen(engine)) == 5, what="five applied")
    first.close()
    run_in_transaction(engine, lambda c: c.execute(delete(consumer_offsets)))
    again = runner(engine, kafka_settings, record_seen, topic)
    wait_until(
        lambda: again.poll_once() >= 0 and sum(again.stored_offsets().values()) == 5,
        what="the replay to be tracked",
    )
    again.close()
    assert len(seen(engine)) == 5


def test_a_handler_that_keeps_failing_sends_only_its_record_to_the_dead_letter_topic(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    bad_client = str(uuid.uuid4())
    values = [
        encode(a_milestone(c), "progress")[1]
        for c in (str(uuid.uuid4()), bad_client, str(uuid.uuid4()))
    ]
    produce(kafka_settings, topic, values)

    def fussy(conn: Connection, event: Envelope) -> None:
        if event.client_id == bad_client:
            raise RuntimeError("this record cannot be applied")
        record_seen(conn, event)

    consumer = runner(engine, kafka_settings, fussy, topic)
    wait_until(
        lambda: consumer.poll_once() >= 0 and sum(consumer.stored_offsets().values()) == 3,
        what="all three tracked",
    )
    consumer.close()
    assert len(seen(engine)) == 2
    dead = KafkaConsumer(
        f"{kafka_settings.topic_prefix}dlq",
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    letters = list(dead)
    dead.close()
    assert [r.value for r in letters] == [values[1]]
    assert dict(letters[0].headers)["dlq.error"].startswith(b"handler failed")


def letters_in(kafka_settings: KafkaSettings) -> list[Any]:
    dead = KafkaConsumer(
        f"{kafka_settings.topic_prefix}dlq",
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    letters = sorted(dead, key=lambda r: r.offset)
    dead.close()
    return letters


def test_a_record_on_another_services_topic_is_dead_lettered_by_the_origin_check(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    good = encode(a_milestone(str(uuid.uuid4())), "progress")[1]
    forged = erasure_record(str(uuid.uuid4()), "clinic-a")  # intake's erasure on progress' topic
    produce(kafka_settings, topic, [forged, good])
    consumer = runner(engine, kafka_settings, record_seen, topic)
    wait_until(
        lambda: consumer.poll_once() >= 0 and sum(consumer.stored_offsets().values()) == 2,
        what="both tracked",
    )
    consumer.close()
    assert len(seen(engine)) == 1
    [letter] = letters_in(kafka_settings)
    assert letter.value == forged
    assert dict(letter.headers)["dlq.error"].startswith(b"origin check failed")


def test_an_erasure_of_a_client_the_consumer_never_knew_is_dead_lettered(
    engine: Engine, kafka_settings: KafkaSettings
) -> None:
    from kafka.admin import NewTopic

    topic = f"{kafka_settings.topic_prefix}runner.waypoint.intake.events"
    ensure_topics(kafka_settings, [NewTopic(topic, 1, 1)])
    ensure_topics(kafka_settings, [NewTopic(f"{kafka_settings.topic_prefix}dlq", 1, 1)])
    client, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    values = [
        referral_record(client, "clinic-a"),
        erasure_record(stranger, "clinic-a"),
        erasure_record(client, "clinic-a"),  # known: its referral is applied before it is checked
        erasure_record(client, "clinic-b"),  # the same id, in a tenant that never referred it
    ]
    produce(kafka_settings, topic, values)
    known: set[tuple[str, str]] = set()

    def remember(conn: Connection, event: Envelope) -> None:
        known.add((event.tenant_id, event.client_id))
        record_seen(conn, event)

    consumer = runner(
        engine,
        kafka_settings,
        remember,
        topic,
        known_client=lambda conn, tenant, client_id: (tenant, client_id) in known,
    )
    wait_until(
        lambda: consumer.poll_once() >= 0 and sum(consumer.stored_offsets().values()) == 4,
        what="all four tracked",
    )
    consumer.close()
    assert len(seen(engine)) == 2
    letters = letters_in(kafka_settings)
    assert [r.value for r in letters] == [values[1], values[3]]
    for letter in letters:
        assert dict(letter.headers)["dlq.error"].startswith(b"known-client check failed")


def offset_in_kafka(settings: KafkaSettings, group: str, topic: str) -> int | None:
    """What lag tools read: the group's offset of the topic's one partition, as Kafka has it."""
    kafka = group_consumer(settings, group)
    try:
        return kafka.committed(TopicPartition(topic, 0))
    finally:
        kafka.close(autocommit=False)


def test_a_new_consumer_is_given_the_topics_partitions_at_its_first_join(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    """A first join made before the consumer's metadata showed the topic assigned it nothing, and
    it then depended on a second join, which kafka-python 3.0 drops when it ends between polls."""
    consumer = runner(engine, kafka_settings, record_seen, topic)
    assignments: list[set[TopicPartition]] = []
    seek = consumer.seek_to_stored

    def noting(assigned: Any) -> None:
        assignments.append(set(assigned))
        seek(assigned)

    consumer.seek_to_stored = noting  # type: ignore[method-assign]
    wait_until(
        lambda: consumer.poll_once(timeout_ms=100) >= 0 and consumer.assigned,
        what="the first assignment",
    )
    consumer.close()
    assert assignments[0] == {TopicPartition(topic, 0)}


def test_a_consumer_whose_join_answer_was_dropped_is_replaced_and_its_records_applied(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    """kafka-python 3.0 can drop the answer of a join that ends between two polls: the member
    then holds the partition at the broker and consumes nothing (with the default deadline of
    310 s this test times out). The first consumer made here has that answer dropped on purpose:
    its coordinator never applies it."""
    worker = runner(engine, kafka_settings, record_seen, topic, assignment_deadline=3.0)
    make, made = worker.consumer_factory, list[KafkaConsumer]()

    def dropping_the_first_answer() -> KafkaConsumer:
        consumer = make()
        if not made:

            async def dropped(*args: Any) -> None:
                return None

            coordinator: Any = consumer._coordinator  # type: ignore[attr-defined]
            coordinator._on_join_complete_async = dropped
        made.append(consumer)
        return consumer

    worker.consumer_factory = dropping_the_first_answer
    values = [encode(a_milestone(str(uuid.uuid4())), "progress")[1] for _ in range(3)]
    produce(kafka_settings, topic, values)
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop,))
    running.start()
    try:
        wait_until(lambda: len(seen(engine)) == 3, timeout=60, what="the three records applied")
    finally:
        stop.set()
        running.join(timeout=30)
    assert len(made) == 2


def test_lag_tools_see_the_stored_offsets_in_kafka_mirrored_at_most_once_a_second(
    engine: Engine, kafka_settings: KafkaSettings, topic: str
) -> None:
    mirrored_at: list[float] = []

    def counting_consumer() -> KafkaConsumer:
        kafka = group_consumer(kafka_settings, group, session_timeout_ms=6000)
        commit = kafka.commit_async

        def counted(*args: Any, **kwargs: Any) -> Any:
            mirrored_at.append(time.monotonic())
            return commit(*args, **kwargs)

        setattr(kafka, "commit_async", counted)  # noqa: B010 (a method replaced on one object)
        return kafka

    group = f"{kafka_settings.topic_prefix}group"
    consumer = ConsumerRunner(
        engine,
        group,
        [topic],
        record_seen,
        counting_consumer,
        lambda: durable_producer(kafka_settings),
        f"{kafka_settings.topic_prefix}dlq",
    )
    for _ in range(4):  # four batches of one record each, one after the other
        produce(kafka_settings, topic, [encode(a_milestone(str(uuid.uuid4())), "progress")[1]])
        wait_until(lambda: consumer.poll_once(timeout_ms=100) > 0, what="the record applied")
    wait_until(
        lambda: (
            consumer.poll_once(timeout_ms=100) >= 0
            and offset_in_kafka(kafka_settings, group, topic) == 4
        ),
        what="the group's offsets in Kafka to reach the four stored",
        timeout=10,
    )
    consumer.close()
    assert sum(consumer.stored_offsets().values()) == 4
    seconds = mirrored_at[-1] - mirrored_at[0]
    assert len(mirrored_at) <= 1 + seconds / MIRROR_EVERY
