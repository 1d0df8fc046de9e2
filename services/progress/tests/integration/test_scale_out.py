"""Partitions are the unit of parallelism: two progress workers in one consumer group split the
partitions of the topics between them and project the same timelines, entry for entry, as one
worker given the same records (docs/architecture.md §5, "Scaling out")."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from waypoint_devkit.waiting import wait_until
from waypoint_progress.adapters.tables import timelines as stored_timelines
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_shared.config import SERVICES, KafkaSettings, load_settings
from waypoint_shared.db.database import read
from waypoint_shared.db.tables import events
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.partitions import partition_of
from waypoint_shared.messaging.topics import ensure_topics

from ..conftest import JourneyEvents
from ..unit.test_projection_properties import a_rich_journey

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
CLIENTS = 8
Records = list[tuple[str, bytes, bytes]]


def progress_on(kafka: KafkaSettings, var_dir: Path) -> Container:
    """Progress with its own store, reading topics under `kafka`'s prefix as its own group."""
    ensure_topics(kafka)
    environment = {
        "WAYPOINT_VAR_DIR": str(var_dir),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "WAYPOINT_TOPIC_PREFIX": kafka.topic_prefix,
    }
    return bootstrap(load_settings("progress", environment))


def worker_runner(progress: Container) -> ConsumerRunner:
    """The consumer runner as progress's worker runs it (runtime.consumer_loop)."""
    settings, group = progress.settings, progress.settings.consumer_group
    return ConsumerRunner(
        progress.engine,
        group,
        [settings.topic_of(s) for s in SERVICES],
        progress.projector.handle,
        consumer_factory=lambda: group_consumer(
            settings.kafka, group, session_timeout_ms=6000, heartbeat_interval_ms=2000
        ),
        producer_factory=lambda: durable_producer(settings.kafka),
        dead_letter_topic=settings.dead_letter_topic,
        handle_batch=progress.projector.handle_all,
        known_client=progress.projector.knows,
    )


@contextmanager
def workers(runners: list[ConsumerRunner]) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,)) for r in runners]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def produce(progress: Container, records: Records) -> None:
    producer = durable_producer(progress.settings.kafka)
    for service, key, value in records:
        producer.send(progress.settings.topic_of(service), key=key, value=value)
    producer.flush()
    producer.close()


def timelines(progress: Container) -> dict[str, list[tuple[Any, ...]]]:
    """Every client's entries in timeline order: id, kind, type, clinical time."""
    t = stored_timelines
    with read(progress.engine) as conn:
        rows = conn.execute(select(t.c.client_id, t.c.entries)).all()
    fields = ("id", "kind", "type", "occurred_at")
    return {client: [tuple(e[f] for f in fields) for e in entries] for client, entries in rows}


def derived_events(progress: Container) -> set[tuple[str, str, str]]:
    """What progress published: milestones reached or withdrawn, alerts, outcomes, by id."""
    with read(progress.engine) as conn:
        rows = conn.execute(select(events.c.event_id, events.c.client_id, events.c.type)).all()
    return {tuple(r) for r in rows}


def assignment(runner: ConsumerRunner) -> set[tuple[str, int]]:
    assert runner.consumer is not None
    return {(p.topic, p.partition) for p in runner.consumer.assignment()}


def all_applied(runners: list[ConsumerRunner], count: int) -> Callable[[], bool]:
    return lambda: sum(r.applied_total for r in runners) >= count


def client_on(partition: int, partitions: int) -> str:
    """A client id whose records Kafka places on the given partition of every topic."""
    while True:
        client_id = str(uuid.uuid4())
        if partition_of(client_id.encode(), list(range(partitions))) == partition:
            return client_id


def journeys(journey: type[JourneyEvents], partitions: int) -> Records:
    """Rich journeys of several clients spread over every partition (random ids could leave a
    partition, and so one member of the pair, with nothing to do), interleaved client by client."""
    clients: list[JourneyEvents] = []

    def new_client() -> JourneyEvents:
        clients.append(journey(client_on(len(clients) % partitions, partitions)))
        return clients[-1]

    for _ in range(CLIENTS):
        a_rich_journey(new_client)  # type: ignore[arg-type]  # a factory, as the class is
    longest = max(len(c.records) for c in clients)
    return [c.records[i] for i in range(longest) for c in clients if i < len(c.records)]


def test_two_workers_in_one_group_split_the_partitions_and_project_what_one_worker_does(
    tmp_path: Path, kafka_settings: KafkaSettings, journey: type[JourneyEvents]
) -> None:
    records = journeys(journey, kafka_settings.partitions)
    alone = progress_on(kafka_settings, tmp_path / "one")
    pair_kafka = dataclasses.replace(kafka_settings, topic_prefix=f"p{uuid.uuid4().hex[:8]}.")
    pair = progress_on(pair_kafka, tmp_path / "two")
    first, second = worker_runner(pair), worker_runner(pair)

    with workers([first, second]):
        wait_until(lambda: first.assigned and second.assigned, timeout=60, what="both members")
        produce(pair, records)
        wait_until(all_applied([first, second], len(records)), timeout=120, what="the pair")
        shares = [assignment(first), assignment(second)]
    single = worker_runner(alone)
    with workers([single]):
        produce(alone, records)
        wait_until(all_applied([single], len(records)), timeout=120, what="the single worker")

    assert first.applied_total > 0 and second.applied_total > 0, "each applied its share"
    assert not shares[0] & shares[1]
    assert len(shares[0] | shares[1]) == 3 * pair_kafka.partitions  # the three topics' partitions
    # each member holds the same partition numbers of every topic: a client's events are its own
    topics = {topic for share in shares for topic, _ in share}
    for share in shares:
        numbers = {frozenset(p for t, p in share if t == topic) for topic in topics}
        assert len(numbers) == 1, f"{share} splits clients between members"
    reference = timelines(alone)
    assert len(reference) == CLIENTS
    assert timelines(pair) == reference
    assert derived_events(pair) == derived_events(alone)
    milestones = {e[2] for entries in reference.values() for e in entries if e[1] == "milestone"}
    assert {"journey_started", "first_goal", "below_caseness"} <= milestones
