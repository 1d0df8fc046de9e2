"""Rebuilding the timeline from a real broker gives the identical timeline, and the lag of the
projection is measured per partition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from waypoint_devkit.waiting import wait_until
from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import Container
from waypoint_progress.entrypoints import rebuild
from waypoint_progress.entrypoints.app import create_app
from waypoint_shared.config import SERVICES
from waypoint_shared.db.database import read
from waypoint_shared.db.tables import events
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.lag import LagWatch

from ..conftest import JourneyEvents

RunnerFor = Callable[[Container], ConsumerRunner]
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def produce(progress: Container, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = durable_producer(progress.settings.kafka)
    for service, key, value in records:
        producer.send(progress.settings.topic_of(service), key=key, value=value).get(timeout=10)
    producer.close()


def snapshot(progress: Container, client_id: str) -> list[tuple[Any, ...]]:
    with read(progress.engine) as conn:
        query = select(timelines.c.entries).where(timelines.c.client_id == client_id)
        entries = conn.execute(query).scalar_one_or_none() or []
    return [(e["id"], e["kind"], e["type"], e["occurred_at"]) for e in entries]


def published(progress: Container) -> int:
    with read(progress.engine) as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def project_all(runner: ConsumerRunner, count: int) -> None:
    wait_until(
        lambda: runner.poll_once() >= 0 and runner.applied_total >= count,
        timeout=60,
        what="the projection of every event",
    )
    runner.close()


def test_a_rebuild_from_offset_0_gives_the_same_ids_times_and_order(
    progress: Container,
    kafka_environment: dict[str, str],
    runner_for: RunnerFor,
    monkeypatch: pytest.MonkeyPatch,
    journey: type[JourneyEvents],
    acceptance_milestones: list[str],
) -> None:
    client = journey()
    client.acceptance_journey()
    produce(progress, client.records)
    project_all(runner_for(progress), len(client.records))
    before, milestones_published = snapshot(progress, client.client_id), published(progress)
    assert [r[2] for r in before if r[1] == "milestone"] == acceptance_milestones

    done = rebuild.run(progress)
    after_first = snapshot(progress, client.client_id)
    for key, value in kafka_environment.items():
        monkeypatch.setenv(key, value)
    cli = create_app().test_cli_runner().invoke(args=["rebuild-timeline"])

    assert done.applied == len(client.records)
    assert after_first == before
    assert cli.exit_code == 0, cli.output
    assert "timeline rebuilt" in cli.output
    assert snapshot(progress, client.client_id) == before
    assert published(progress) == milestones_published


def test_lag_per_partition_falls_to_zero_once_the_projection_has_applied_everything(
    progress: Container, journey: type[JourneyEvents], runner_for: RunnerFor
) -> None:
    client = journey()
    client.acceptance_journey()
    produce(progress, client.records)
    settings = progress.settings
    watch = LagWatch(
        progress.engine,
        settings.consumer_group,
        [settings.topic_of(s) for s in SERVICES],
        lambda: group_consumer(settings.kafka, None),
    )
    consumer = watch.consumer_factory()
    try:
        waiting = watch.measure(consumer)
        project_all(runner_for(progress), len(client.records))
        caught_up = watch.measure(consumer)
    finally:
        consumer.close()

    assert sum(waiting.values()) == len(client.records)
    assert len(waiting) == 3 * settings.kafka.partitions
    assert set(caught_up.values()) == {0}
