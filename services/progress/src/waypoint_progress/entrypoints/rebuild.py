"""Rebuild the timeline from every topic: `python -m waypoint_progress.entrypoints.rebuild`, or
`flask --app waypoint_progress.entrypoints.app:create_app rebuild-timeline`.

The first round runs in forked processes, one per partition number up to two per core: the record
key is the client id and every event topic has as many partitions, so a client's events sit in
the same partition number of each topic and no two processes share a client. Topics with unequal
partition counts, a single partition or an in-memory database are rebuilt in this process."""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy import Engine

from waypoint_progress import config
from waypoint_progress.adapters.topic_reader import TopicReader
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.entrypoints.common import container
from waypoint_progress.service_layer.projector import Projector
from waypoint_progress.service_layer.rebuild import (
    Position,
    Reader,
    Rebuilt,
    Replayer,
    derive_claimed,
    keep_facts,
    page_starts,
    rebuild,
)
from waypoint_shared.config import SERVICES, Settings
from waypoint_shared.messaging.kafka_clients import group_consumer
from waypoint_shared.runtime import configure_logging

T = TypeVar("T")


def run(container: Container) -> Rebuilt:
    """Replay the three topics from offset 0 into fresh tables and swap them in."""
    settings = container.settings
    reader = _reader(settings)
    try:
        replayer = _replayer(container, reader)
        return rebuild(
            container.engine, container.projector, reader, settings.consumer_group, replayer
        )
    finally:
        reader.close()


# A rebuild reads what the topics already hold. The live consumer's fetch waits up to 2 s for a
# record (fewer empty round trips while idle); here a partition read to its end would hold the
# fetches of the others that long (a third of the records took 4-6 s to read rather than 1-2).
FETCH_MAX_WAIT_MS = 100


def _reader(
    settings: Settings, only: list[int] | None = None, broker_version: Any = None
) -> TopicReader:
    """A reader of the three topics (of the partitions numbered in `only`, if given). Without the
    broker's API version, kafka-python works it out on the first request (~0.1 s of waiting a
    client): the processes a rebuild forks are given the one the first reader found."""
    versioned = {"api_version": broker_version} if broker_version else {}
    return TopicReader(
        lambda: group_consumer(
            settings.kafka,
            None,
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            **versioned,
        ),
        [settings.topic_of(s) for s in SERVICES],
        only,
    )


def _replayer(container: Container, reader: TopicReader) -> Replayer | None:
    """Processes sharing the first round, or None (this process alone)."""
    counts = set(reader.partition_counts().values())
    database = container.engine.url.database
    if len(counts) != 1 or not database or database == ":memory:":
        return None
    partitions = counts.pop()
    processes = min(partitions, 2 * len(os.sched_getaffinity(0)))
    if processes < 2:
        return None
    return Forked(
        container, reader, [list(range(i, partitions, processes)) for i in range(processes)]
    )


@dataclass(frozen=True)
class Forked:
    """The first round's two passes in forked processes: the records by partition number, then
    the clients by page, each process claiming the next page left once it is done with one;
    catching up goes on in this process, through its reader."""

    container: Container
    reader: TopicReader
    shares: list[list[int]]  # the partition numbers of each process

    def keep_facts(self, projector: Projector, targets: Mapping[Position, int]) -> Rebuilt:
        jobs = [partial(self._keep_facts_of, projector, share, targets) for share in self.shares]
        report = Rebuilt()
        for done in in_processes(self.container.engine, jobs):
            report.add(done)
        return report

    def _keep_facts_of(
        self, projector: Projector, share: list[int], targets: Mapping[Position, int]
    ) -> Rebuilt:
        reader = _reader(self.container.settings, share, self.reader.broker_version)
        try:
            ours = {p: offset for p, offset in targets.items() if p[1] in share}
            return keep_facts(self.container.engine, projector, reader.batches(ours))
        finally:
            reader.close()

    def derive_all(self, projector: Projector) -> None:
        engine = self.container.engine
        starts = page_starts(engine, projector)
        job = partial(derive_claimed, engine, projector, starts, _claims())
        in_processes(engine, [job] * len(self.shares))

    def reader_from(self, reached: Mapping[Position, int]) -> Reader:
        self.reader.go_on_from(reached)
        return self.reader


def _claims() -> Callable[[], int]:
    """0, 1, 2, … across the processes forked after this call: each number is given once."""
    claimed = multiprocessing.get_context("fork").Value("i", 0)

    def claim() -> int:
        with claimed.get_lock():
            number = int(claimed.value)
            claimed.value += 1
        return number

    return claim


def in_processes(engine: Engine, jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run each job in a forked process of its own, all at once; their results, in order. A job
    that fails fails the whole."""
    context = multiprocessing.get_context("fork")
    started = []
    for job in jobs:
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(engine, job, sending), daemon=True)
        process.start()
        sending.close()
        started.append((process, receiving))
    results = [_result(process, receiving) for process, receiving in started]
    failed = [r for r in results if isinstance(r, _Failed)]
    if failed:
        raise RuntimeError(f"a rebuild process failed:\n{failed[0].trace}")
    return results


@dataclass(frozen=True)
class _Failed:
    trace: str


def _child(engine: Engine, job: Callable[[], Any], results: Connection) -> None:
    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    try:
        results.send(job())
    except BaseException:
        results.send(_Failed(traceback.format_exc()))
    finally:
        results.close()


def _result(process: Any, receiving: Connection) -> Any:
    try:
        result = receiving.recv()
    except EOFError:
        result = _Failed(f"the process exited {process.exitcode} without a result")
    process.join()
    return result


def _report(done: Rebuilt) -> str:
    return f"timeline rebuilt: {done.applied} events applied, {done.skipped} skipped"


@click.command("rebuild-timeline")
@with_appcontext
def command() -> None:
    """Replay every topic from offset 0 into fresh tables and swap them in."""
    click.echo(_report(run(container())))


def main() -> None:
    settings = config.settings()
    configure_logging(level=settings.log_level)
    print(_report(run(bootstrap(settings))))


if __name__ == "__main__":
    main()
