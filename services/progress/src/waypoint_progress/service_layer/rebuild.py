"""Rebuilding the timeline: every topic replayed from offset 0 into fresh tables, swapped in.

The rebuild goes in two passes over fresh tables. First it keeps the facts of every record (bulk
inserts, thousands of events per transaction), deriving nothing. Then it derives each client's
timeline once, from the set of their kept facts, a page of clients per transaction. A `Replayer`
runs both passes: in this process (`InProcess`), or shared among processes, the records by
partition and the clients by page, each process claiming the next page left once it is done with
one (the record key is the client id, so a client's events sit in the same partition of every
topic and the processes never share a client). Memory stays flat: the records stream through,
and the derivation holds one page of clients at a time. The fresh timeline
gets its client index only when something must look a client up in it (the swap, or a round
catching up): built in one pass it costs far less than kept up row by row.

The live worker may keep running: the rebuild reads without joining its consumer group, and swaps
only once it has read at least as far as the worker has applied (checked inside the swap's
transaction, which holds the write lock), so the new tables miss nothing. Should the worker have
applied more meanwhile, this process reads those records too and derives again the timelines of
the clients they name. Derived ids and times are functions of the source events, so they come out
identical.

The replay publishes nothing: halfway through, a client's timeline lacks what later records
bring, and publishing it would withdraw milestones only to reach them again. What each client's
timeline owes the store is worked out as the live projector works it out, when the timeline is
derived, and kept prepared (validated, sealed, as the events rows they will be) with the version
of the client's derived stream they follow (`adapters/staged.py`). In the swap's transaction, once
the rebuilt tables are live, one statement appends the prepared rows of every client whose derived
stream is still at that version, and the publications of any other client are worked out again
from its timeline (`publish_owed_at_swap`): the same publications come out, and each
publication's deterministic event id keeps it from being appended twice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import count, islice
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from waypoint_progress.adapters import projection, staged, swap
from waypoint_progress.adapters.projection import Client
from waypoint_progress.adapters.tables import ProjectionTables, projection_tables
from waypoint_progress.domain import timeline
from waypoint_progress.domain.progress import derived_stream
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.timeline import Entry
from waypoint_progress.service_layer.projector import (
    Projector,
    outcome_appends,
    owed_appends,
    publish_outcomes,
    publish_owed,
)
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.messaging import envelope, trust
from waypoint_shared.messaging.consumer import collector_paused
from waypoint_shared.messaging.envelope import Envelope, UndecodableRecord

log = logging.getLogger(__name__)
Position = tuple[str, int]
EVENTS_PER_TRANSACTION = 5000  # facts kept per transaction (one fsync each)
CLIENTS_PER_PAGE = 500  # timelines derived per transaction


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

    def add(self, other: Rebuilt) -> Rebuilt:
        self.applied += other.applied
        self.skipped += other.skipped
        return self


class Replayer(Protocol):
    """The two passes of a rebuild's first round, in one process or in several."""

    def keep_facts(self, projector: Projector, targets: Mapping[Position, int]) -> Rebuilt:
        """Keep the facts of every record up to the targets (a projector that derives nothing)."""
        ...

    def derive_all(self, projector: Projector) -> None:
        """Derive the timeline of every client with a kept fact in the projector's tables."""
        ...

    def reader_from(self, reached: Mapping[Position, int]) -> Reader:
        """A reader of this process that goes on from the offsets reached."""
        ...


@dataclass(frozen=True)
class InProcess:
    """Both passes in this process, through one reader."""

    engine: Engine
    reader: Reader

    def keep_facts(self, projector: Projector, targets: Mapping[Position, int]) -> Rebuilt:
        return keep_facts(self.engine, projector, self.reader.batches(targets))

    def derive_all(self, projector: Projector) -> None:
        starts = page_starts(self.engine, projector)
        derive_claimed(self.engine, projector, starts, count().__next__)

    def reader_from(self, reached: Mapping[Position, int]) -> Reader:
        return self.reader  # it stopped where the first round reached


def rebuild(
    engine: Engine,
    projector: Projector,
    reader: Reader,
    group: str,
    replayer: Replayer | None = None,
) -> Rebuilt:
    """Replay every record into fresh tables, then swap them in for the live ones."""
    replayer = replayer or InProcess(engine, reader)
    fresh = projection_tables("_next")
    run_in_transaction(engine, partial(_create_fresh, fresh=fresh))
    into_fresh = dataclasses.replace(projector, tables=fresh, publishes=False, derives=False)
    targets, started = reader.end_offsets(), time.monotonic()
    report = replayer.keep_facts(into_fresh, targets)
    report.rounds = 1
    log.info("rebuild: %d facts kept in %.1f s", report.applied, time.monotonic() - started)
    replayer.derive_all(into_fresh)
    log.info("rebuild: timelines derived at %.1f s", time.monotonic() - started)
    while behind := run_in_transaction(engine, _swap_in(projector, fresh, group, targets)):
        report.rounds += 1  # the worker applied more meanwhile: read that too
        caught_up = replayer.reader_from(targets)
        targets = {**targets, **behind}
        touched: set[Client] = set()
        report.add(keep_facts(engine, into_fresh, caught_up.batches(targets), touched))
        derive_clients(engine, into_fresh, sorted(touched))
    log.info("rebuild: swapped in and published at %.1f s", time.monotonic() - started)
    return report


def _create_fresh(conn: Connection, fresh: ProjectionTables) -> None:
    swap.create_fresh(conn, fresh)
    staged.create_fresh(conn)


def _swap_in(
    projector: Projector, fresh: ProjectionTables, group: str, reached: Mapping[Position, int]
) -> Callable[[Connection], dict[Position, int]]:
    """The transaction that swaps the rebuilt tables in once the rebuild has read `reached`, and
    then publishes what the rebuilt timelines owe the store."""

    def swap_and_publish(conn: Connection) -> dict[Position, int]:
        behind = swap.swap_in(conn, fresh, group, reached)
        if not behind:
            publish_owed_at_swap(conn, projector)
        return behind

    return swap_and_publish


def publish_owed_at_swap(conn: Connection, projector: Projector) -> None:
    """Make what the store has published agree with every client's timeline, as the live
    projector makes it (`projector.publish_owed`): the publications prepared when the timelines
    were derived are appended in one statement for every client whose derived stream is still
    as they found it (`staged.still_prepared`); any other client's are worked out again here
    (`_publish_anew`), a page at a time. Then the prepared ones are dropped. The versions are
    checked once nothing else may append, and before these appends move them."""
    projector.repository.hold_appends(conn)
    anew = staged.not_prepared(conn, projector.tables)
    staged.forget_outdated(conn, projector.tables)
    projector.repository.record_selected(conn, staged.still_prepared())
    for page in _pages(iter(anew)):
        with collector_paused():
            _publish_anew(conn, projector, page)
    staged.drop(conn)


def _publish_anew(conn: Connection, projector: Projector, clients: list[Client]) -> None:
    """The clients' publications owed, from their timelines as the tables keep them; only a
    discharged client's facts are read again, for its course outcome."""
    if not clients:
        return
    timelines = swap.timelines_of(conn, clients, projector.tables)
    publish_owed(projector.repository, conn, timelines, lambda _: None)
    discharged = swap.discharged_among(conn, clients, projector.tables)
    histories = projection.facts_of_clients(conn, discharged, projector.tables)
    publish_outcomes(projector.repository, conn, histories.values(), projector.thresholds)


def keep_facts(
    engine: Engine,
    projector: Projector,
    batches: Iterable[list[Any]],
    touched: set[Client] | None = None,
) -> Rebuilt:
    """Keep the facts of every record of the batches, EVENTS_PER_TRANSACTION at a time; the
    clients named are added to `touched` if given. The garbage collector is paused while a
    chunk is read and decoded as well as while it is written (what reading and decoding allocate
    is freed as it goes; the collections it set off were 3 % of a rebuild's time), and runs
    between chunks."""
    report = Rebuilt()
    chunks = _chunks(_trusted(batches, report))
    while True:
        with collector_paused():
            events = next(chunks, None)
            if events is None:
                return report
            write = partial(_handle_all, projector=projector, events=events, report=report)
            run_in_transaction(engine, write)
        if touched is not None:
            touched.update((e.tenant_id, e.client_id) for e in events)


def _trusted(batches: Iterable[list[Any]], report: Rebuilt) -> Iterator[Envelope]:
    """The decoded events of the records whose origin checks out; the others are skipped."""
    for records in batches:
        for record in records:
            try:
                event = envelope.decode(record.value)
            except UndecodableRecord:
                report.skipped += 1
                continue
            if trust.origin_error(record.topic, event) is None:
                yield event
            else:
                report.skipped += 1


def _chunks(events: Iterator[Envelope]) -> Iterator[list[Envelope]]:
    while chunk := list(islice(events, EVENTS_PER_TRANSACTION)):
        yield chunk


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


def page_starts(engine: Engine, projector: Projector) -> list[Client | None]:
    """Where each page of clients with a kept fact starts: after the last client of the page
    before it (None for the first). A walk along the facts' client index, holding one client a
    page."""
    starts: list[Client | None] = [None]
    with read(engine) as conn:
        while page := swap.clients_after(conn, projector.tables, starts[-1], CLIENTS_PER_PAGE):
            starts.append(page[-1])
    return starts[:-1]  # the last is where no client follows


def derive_claimed(
    engine: Engine, projector: Projector, starts: list[Client | None], claim: Callable[[], int]
) -> None:
    """Derive the timelines of each page of clients this process claims (`claim` gives the
    number of a page no process has claimed yet, counting up), until none is left: the
    processes of a rebuild each run this, and one that is done sooner claims more pages. It is
    the first round's: no client has a timeline stored yet, and each is derived once."""
    while (page := claim()) < len(starts):
        with read(engine) as conn:
            clients = swap.clients_after(conn, projector.tables, starts[page], CLIENTS_PER_PAGE)
        derive_clients(engine, projector, clients, replacing=False)


def derive_clients(
    engine: Engine, projector: Projector, clients: Iterable[Client], replacing: bool = True
) -> None:
    """Derive these clients' timelines from their kept facts, a page at a time, and prepare what
    they will owe the store at the swap; `replacing=False` when none of them has a timeline
    stored yet. The facts and derived streams are read, the timelines derived and the
    publications built outside the write transaction (SQLite has one writer at a time, and the
    processes of a rebuild derive side by side); only their rows are written in it."""
    store = projection.replace_timelines if replacing else projection.insert_timelines
    for page in _pages(iter(clients)):
        timelines, prepared = _derived(engine, projector, page)
        write = partial(
            _write, timelines=timelines, prepared=prepared, store=store, tables=projector.tables
        )
        with collector_paused():
            run_in_transaction(engine, write)


def _pages(clients: Iterator[Client]) -> Iterator[list[Client]]:
    while page := list(islice(clients, CLIENTS_PER_PAGE)):
        yield page


def _derived(
    engine: Engine, projector: Projector, page: list[Client]
) -> tuple[dict[Client, list[Entry]], dict[Client, staged.Prepared]]:
    """A page of clients' timelines, and what they will owe the store."""
    with collector_paused(), read(engine) as conn:
        histories = projection.facts_of_clients(conn, page, projector.tables)
        timelines = {c: timeline.derive(h, projector.thresholds) for c, h in histories.items()}
        return timelines, _prepare(conn, projector, timelines, histories)


def _prepare(
    conn: Connection,
    projector: Projector,
    timelines: Mapping[Client, list[Entry]],
    histories: Mapping[Client, list[SourceEvent]],
) -> dict[Client, staged.Prepared]:
    """What the timelines owe the store as it is now, by client, as the events rows it will be.
    The versions are read before the streams: a publication between the two reads leaves a
    version behind, and the swap works that client out again."""
    versions = staged.derived_versions(conn, timelines.keys())
    following = {(t, derived_stream(c)): v for (t, c), v in versions.items()}
    appends = [
        *owed_appends(projector.repository, conn, timelines),
        *outcome_appends(histories.values(), projector.thresholds),
    ]
    prepared = {c: staged.Prepared(v) for c, v in versions.items()}
    for row in projector.repository.prepared_rows(conn, following, *appends):
        prepared[(row["tenant_id"], row["client_id"])].rows.append(row)
    return prepared


def _write(
    conn: Connection,
    timelines: Mapping[Client, list[Entry]],
    prepared: Mapping[Client, staged.Prepared],
    store: Callable[[Connection, Mapping[Client, list[Entry]], ProjectionTables], None],
    tables: ProjectionTables,
) -> None:
    store(conn, timelines, tables)
    staged.keep(conn, prepared)
