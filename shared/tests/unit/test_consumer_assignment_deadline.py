"""A consumer whose group never tells it its partitions is replaced; one told it has none is kept.

kafka-python 3.0 can drop the answer of a join that finishes between two polls, and the consumer
then holds nothing and consumes nothing until the group's next rebalance. That race cannot be
started at will against a broker, so these tests drive the runner with a stand-in consumer that
reports (or never reports) its assignment as the library's listener calls do."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from waypoint_devkit.waiting import wait_until
from waypoint_shared.messaging.consumer import (
    AssignmentOverdue,
    ConsumerRunner,
    _SeekToStoredOffsets,
)

DEADLINE = 0.3  # seconds


class StandInConsumer:
    """Subscribes, answers polls with no records and, if `told`, reports an empty assignment at
    its first poll, as the group does to a member beyond the topic's partition count."""

    config = {"max_poll_interval_ms": 300_000, "session_timeout_ms": 10_000}

    def __init__(self, told: bool):
        self.told, self.closed, self.listener = told, False, None

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def poll(self, timeout_ms: int = 0, max_records: int = 0) -> dict[Any, Any]:
        if self.told and self.listener is not None:
            listener, self.listener = self.listener, None
            listener.on_partitions_assigned(set())
        time.sleep(min(timeout_ms, 20) / 1000)
        return {}

    def close(self, autocommit: bool = False) -> None:
        self.closed = True


def a_runner(
    engine: Engine, made: list[StandInConsumer], told: list[bool], **options: Any
) -> ConsumerRunner:
    """A runner whose consumers are stand-ins, told their assignment or not in `told`'s order."""

    def make() -> StandInConsumer:
        made.append(StandInConsumer(told[min(len(made), len(told) - 1)]))
        return made[-1]

    def nothing(conn: Any, event: Any) -> None:
        raise AssertionError("no record is polled")

    no_producer: Any = lambda: None  # noqa: E731 - nothing is dead-lettered
    return ConsumerRunner(engine, "g", ["t"], nothing, make, no_producer, "dlq", **options)  # type: ignore[arg-type]


def test_a_consumer_never_told_its_partitions_is_refused_once_the_deadline_passes(
    engine: Engine,
) -> None:
    runner = a_runner(engine, [], [False], assignment_deadline=DEADLINE)
    runner.poll_once(timeout_ms=0)  # within the deadline: waiting is normal
    time.sleep(DEADLINE + 0.05)
    with pytest.raises(AssignmentOverdue, match="no partitions assigned"):
        runner.poll_once(timeout_ms=0)


def test_the_running_worker_replaces_that_consumer_with_one_the_group_answers(
    engine: Engine,
) -> None:
    made: list[StandInConsumer] = []
    runner = a_runner(engine, made, [False, True], assignment_deadline=DEADLINE)
    stop = threading.Event()
    worker = threading.Thread(target=runner.run, args=(stop,))
    worker.start()
    try:
        wait_until(lambda: runner.assigned, timeout=10, what="an assignment")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert len(made) == 2
    assert made[0].closed


def test_a_consumer_told_it_has_no_partitions_is_kept(engine: Engine) -> None:
    made: list[StandInConsumer] = []
    runner = a_runner(engine, made, [True], assignment_deadline=DEADLINE)
    runner.poll_once(timeout_ms=0)
    time.sleep(DEADLINE + 0.05)
    runner.poll_once(timeout_ms=0)
    assert runner.assigned and len(made) == 1 and not made[0].closed


def test_a_rebalance_that_revokes_the_partitions_starts_the_deadline_again(
    engine: Engine,
) -> None:
    made: list[StandInConsumer] = []
    runner = a_runner(engine, made, [True], assignment_deadline=DEADLINE)
    runner.poll_once(timeout_ms=0)
    time.sleep(DEADLINE + 0.05)
    runner.poll_once(timeout_ms=0)  # assigned long ago: nothing is owed
    _SeekToStoredOffsets(runner).on_partitions_revoked(set())  # as the library tells a rebalance
    time.sleep(DEADLINE + 0.05)
    with pytest.raises(AssignmentOverdue):
        runner.poll_once(timeout_ms=0)


def test_without_a_deadline_given_the_consumer_waits_as_long_as_its_group_may(
    engine: Engine,
) -> None:
    """The default is the consumer's max_poll_interval_ms plus session_timeout_ms: 310 s here."""
    runner = a_runner(engine, [], [False])
    runner.poll_once(timeout_ms=0)
    assert runner.unassigned_since is not None
    runner.unassigned_since -= 309
    runner.poll_once(timeout_ms=0)
    runner.unassigned_since -= 2
    with pytest.raises(AssignmentOverdue):
        runner.poll_once(timeout_ms=0)
