"""Rebuilding the timeline: every topic replayed from offset 0 into fresh tables, swapped in.

The live worker may keep running: the rebuild reads without joining its consumer group, and swaps
only once it has read at least as far as the worker has applied (checked inside the swap's
transaction, which holds the write lock), so the new tables miss nothing. Derived ids and times are
functions of the source events, so they come out identical.

The replay publishes nothing: halfway through, a client's timeline lacks what later records
bring, and publishing it would withdraw milestones only to reach them again. In the swap's
transaction, once the rebuilt tables are live, every client's timeline is compared with what the
store has published, as the live projector compares it (`Projector.publish_all`): the same
publications come out, and each publication's deterministic event id keeps it from being
appended twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from waypoint_progress.adapters import swap
from waypoint_progress.adapters.tables import ProjectionTables, projection_tables
from waypoint_progress.service_layer.projector import Projector
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.messaging import envelope, trust
from waypoint_shared.messaging.envelope import UndecodableRecord

log = logging.getLogger(__name__)
Position = tuple[str, int]


class Reader(Protocol):
    def end_offsets(self) -> dict[Position, int]: ...

    def batches(self, targets: Mapping[Position, int]) -> Iterator[list[Any]]: ...


@dataclass
class Rebuilt:
    applied: int = 0
    skipped: int = (
        0  # undecodable, untrusted or failing records: the live consumer dead-letters them
    )
    rounds: int = 0


def rebuild(engine: Engine, projector: Projector, reader: Reader, group: str) -> Rebuilt:
    """Replay every record into fresh tables, then swap them in for the live ones."""
    fresh = projection_tables("_next")
    run_in_transaction(engine, lambda conn: swap.create_fresh(conn, fresh))
    into_fresh = dataclasses.replace(projector, tables=fresh, publishes=False)
    targets, report = reader.end_offsets(), Rebuilt()
    while True:
        report.rounds += 1
        for batch in reader.batches(targets):
            _apply(engine, into_fresh, batch, report)
        behind = run_in_transaction(engine, _swap_in(projector, fresh, group, targets))
        if not behind:
            return report
        targets = {**targets, **behind}  # the worker applied more meanwhile: read that too


def _swap_in(
    projector: Projector, fresh: ProjectionTables, group: str, reached: Mapping[Position, int]
) -> Callable[[Connection], dict[Position, int]]:
    """The transaction that swaps the rebuilt tables in once the rebuild has read `reached`, and
    then publishes what the rebuilt timelines owe the store."""

    def swap_and_publish(conn: Connection) -> dict[Position, int]:
        behind = swap.swap_in(conn, fresh, group, reached)
        if not behind:
            projector.publish_all(conn)
        return behind

    return swap_and_publish


def _apply(engine: Engine, projector: Projector, records: Iterable[Any], report: Rebuilt) -> None:
    events = []
    for record in records:
        try:
            event = envelope.decode(record.value)
        except UndecodableRecord:
            report.skipped += 1
            continue
        if trust.origin_error(record.topic, event) is None:
            events.append(event)
        else:
            report.skipped += 1
    run_in_transaction(engine, lambda conn: _handle_all(conn, projector, events, report))


def _handle_all(conn: Connection, projector: Projector, events: list[Any], report: Rebuilt) -> None:
    """The whole batch at once; if it fails, each event alone, skipping those that fail."""
    try:
        with conn.begin_nested():
            refused = trust.apply_checked(conn, events, projector.handle_all, projector.knows)
        report.applied += len(events) - len(refused)
        report.skipped += len(refused)
        return
    except Exception:
        log.warning("rebuild: a batch could not be projected; projecting its events one by one")
    for event in events:
        try:
            with conn.begin_nested():
                refused = trust.apply_checked(conn, [event], projector.handle_all, projector.knows)
            report.applied += 1 - len(refused)
            report.skipped += len(refused)
        except Exception:  # the live consumer dead-letters such a record; a rebuild skips it
            log.exception("rebuild: event %s could not be projected", event.event_id)
            report.skipped += 1
