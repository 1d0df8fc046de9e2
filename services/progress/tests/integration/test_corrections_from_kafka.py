"""A session amended after it crossed reliable improvement, fed from a real broker through the real
projector: the timeline shows the amended session, and the improvement, no longer derived, is
withdrawn on progress's derived stream."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from waypoint_devkit.waiting import wait_until
from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import Container
from waypoint_progress.domain.progress import derived_stream
from waypoint_shared.config import KafkaSettings
from waypoint_shared.db.database import read
from waypoint_shared.messaging.consumer import ConsumerRunner

from ..conftest import JourneyEvents
from .test_projection_from_kafka import produce

RunnerFor = Callable[[Container], ConsumerRunner]
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]
GAD7_7 = [1, 1, 1, 1, 1, 1, 1]


def phq9(total: int) -> list[int]:
    items = [0] * 9
    for i in range(total):
        items[i % 8] += 1  # item 9 stays 0: no risk flag
    return items


def titles(progress: Container, client_id: str) -> list[str]:
    with read(progress.engine) as conn:
        query = select(timelines.c.entries).where(timelines.c.client_id == client_id)
        return [entry["title"] for entry in conn.execute(query).scalar_one_or_none() or []]


def derived_names(progress: Container, j: JourneyEvents) -> list[tuple[str, str]]:
    repository = progress.progress.repository
    with read(progress.engine) as conn:
        stored = repository.stored(conn, j.tenant, derived_stream(j.client_id))
    return [(r.type.split(".")[2], str(r.data.get("rule"))) for r in stored]


def test_an_amended_session_withdraws_the_improvement_it_no_longer_supports(
    progress: Container,
    kafka_settings: KafkaSettings,
    runner_for: RunnerFor,
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    j.referral()
    j.session(date="2025-03-10", PHQ9=phq9(18), GAD7=GAD7_7)
    second = j.session(date="2025-03-17", PHQ9=phq9(11), GAD7=GAD7_7)  # 7 below: improved
    publish(progress, kafka_settings, j)
    runner = runner_for(progress)
    drain(runner, lambda: improvement(progress, j) == [REACHED])

    j.later(30).amendment(second, PHQ9=phq9(16), GAD7=GAD7_7)  # 2 below: no reliable change
    publish(progress, kafka_settings, j, last=1)
    drain(runner, lambda: improvement(progress, j) == [REACHED, WITHDRAWN])
    runner.close()

    assert titles(progress, j.client_id) == [
        "Referred to the clinic",
        "Journey started",
        "Session checked in",
        "Session checked in (measures amended)",
        "Session measures amended",
    ]


REACHED, WITHDRAWN = "milestone_reached", "milestone_withdrawn"


def publish(
    progress: Container, kafka_settings: KafkaSettings, j: JourneyEvents, last: int = 0
) -> None:
    """The journey's records (only the `last` ones, if given) on their services' topics."""
    for service in ("intake", "progress"):
        records = [(key, value) for s, key, value in j.records[-last:] if s == service]
        if records:
            produce(kafka_settings, progress.settings.topic_of(service), records)


def improvement(progress: Container, j: JourneyEvents) -> list[str]:
    return [name for name, rule in derived_names(progress, j) if "improvement" in rule]


def drain(runner: ConsumerRunner, until: Callable[[], bool]) -> None:
    wait_until(lambda: runner.poll_once() >= 0 and until(), timeout=60, what="the projection")
