"""A rebuild that finds the live worker applied past what it read reads on from where it stopped,
derives again the timelines of the clients it meets there, and swaps in on the next round."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select

from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import Container
from waypoint_progress.service_layer.rebuild import Position, rebuild
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.tables import consumer_offsets

from ..conftest import JourneyEvents

GROUP, TOPIC = "waypoint-progress", "waypoint.intake.events"


class WorkerAhead:
    """The intake topic: the first client's records up to the end offsets first read; the live
    worker has applied one record past them, the second client's referral."""

    def __init__(self, first: JourneyEvents, second: JourneyEvents):
        self.first = [r[2] for r in first.records]
        self.later = [r[2] for r in second.records]
        self.read: list[list[bytes]] = []

    def end_offsets(self) -> dict[Position, int]:
        return {(TOPIC, 0): len(self.first)}

    def batches(self, targets: Mapping[Position, int]) -> Iterator[list[Any]]:
        values = self.later if self.read else self.first
        self.read.append(values)
        yield [SimpleNamespace(topic=TOPIC, value=v) for v in values]


def clients_on_the_timeline(progress: Container) -> set[str]:
    with read(progress.engine) as conn:
        return set(conn.execute(select(timelines.c.client_id)).scalars())


def test_a_rebuild_behind_the_worker_reads_on_and_derives_the_clients_it_meets(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    first, second = journey(), journey()
    first.referral()
    second.referral()
    reader = WorkerAhead(first, second)
    applied = {"consumer_group": GROUP, "topic": TOPIC, "partition": 0, "next_offset": 2}
    run_in_transaction(progress.engine, lambda c: c.execute(insert(consumer_offsets), applied))

    done = rebuild(progress.engine, progress.projector, reader, GROUP)

    assert (done.rounds, done.applied, done.skipped) == (2, 2, 0)
    assert reader.read == [reader.first, reader.later]
    assert clients_on_the_timeline(progress) == {first.client_id, second.client_id}
