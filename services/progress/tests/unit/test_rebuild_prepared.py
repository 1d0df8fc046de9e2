"""A rebuild prepares each client's publications while it derives the timelines and appends them
at its swap: as prepared while the client's derived stream is as they found it, worked out again
when it has changed meanwhile; a rebuild stopped before its swap publishes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, inspect

from waypoint_progress.adapters import staged
from waypoint_progress.bootstrap import Container
from waypoint_progress.domain.progress import derived_stream
from waypoint_progress.service_layer.projector import Projector
from waypoint_progress.service_layer.rebuild import InProcess, Position, Reader, Rebuilt, rebuild
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.tables import erased_clients
from waypoint_shared.eventstore.store import Append, EventStore, NewEvent
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import phq9
from .test_withdrawal import (
    OneRecordAtATime,
    Projected,
    published_by_an_older_version,
    withdrawn_rules,
)

GROUP = "waypoint-progress"
THING = "waypoint.progress.thing_happened.v1"
NOW = datetime(2025, 3, 4, tzinfo=UTC)


@dataclass(frozen=True)
class ThenMeanwhile:
    """Both passes in this process, then `meanwhile` before the swap."""

    inner: InProcess
    meanwhile: Callable[[], None]

    def keep_facts(self, projector: Projector, targets: Mapping[Position, int]) -> Rebuilt:
        return self.inner.keep_facts(projector, targets)

    def derive_all(self, projector: Projector) -> None:
        self.inner.derive_all(projector)
        self.meanwhile()

    def reader_from(self, reached: Mapping[Position, int]) -> Reader:
        return self.inner.reader_from(reached)


def improving(j: JourneyEvents) -> Envelope:
    """A journey whose sessions reach a milestone; its referral."""
    referral = j.referral()
    j.screening("PHQ-9", phq9(20))
    j.session(date="2025-03-10", PHQ9=phq9(14))
    j.session(PHQ9=phq9(8))
    return referral


def test_a_derived_stream_changed_after_the_derivation_is_worked_out_again_at_the_swap(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral = improving(j)
    reader = OneRecordAtATime(j)

    def an_older_version_publishes() -> None:
        published_by_an_older_version(progress, j, referral)

    replayer = ThenMeanwhile(InProcess(progress.engine, reader), an_older_version_publishes)
    rebuild(progress.engine, progress.projector, reader, GROUP, replayer)

    projected = Projected(progress, j.client_id)
    assert withdrawn_rules(projected) == ["recovery"]  # not in what was prepared before it
    published = projected.derived_stream()
    assert any(name == "milestone_reached" for _, name, _ in published[1:])
    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), GROUP)
    assert projected.derived_stream() == published


class Stopped(Exception):
    pass


def test_a_rebuild_stopped_before_its_swap_publishes_nothing_and_the_next_publishes_once(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    improving(j)

    def stop() -> None:
        raise Stopped

    reader = OneRecordAtATime(j)
    with pytest.raises(Stopped):
        rebuild(
            progress.engine,
            progress.projector,
            reader,
            GROUP,
            ThenMeanwhile(InProcess(progress.engine, reader), stop),
        )

    projected = Projected(progress, j.client_id)
    assert projected.derived_stream() == []
    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), GROUP)
    published = projected.derived_stream()
    assert [name for _, name, _ in published].count("milestone_reached") >= 1
    assert len({event_id for event_id, _, _ in published}) == len(published)
    with progress.engine.connect() as conn:
        left = set(inspect(conn).get_table_names())
    assert not left & {table.name for table in staged.TABLES}


def test_the_swap_appends_what_was_prepared_only_for_clients_still_as_it_found_them(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    intact, erased, moved = journey(), journey(), journey()
    for j in (intact, erased, moved):
        Projected(progress, j.client_id).project([j.referral()])
    store, tables = EventStore(), progress.projector.tables

    def prepare(conn: Connection) -> None:
        staged.create_fresh(conn)
        clients = [(j.tenant, j.client_id) for j in (intact, erased, moved)]
        kept = {}
        for (tenant, client_id), version in staged.derived_versions(conn, clients).items():
            stream = derived_stream(client_id)
            owed = Append(tenant, stream, client_id, None, [NewEvent(THING, 1, {})], {})
            rows = store.rows_following(conn, [owed], {(tenant, stream): version})
            kept[(tenant, client_id)] = staged.Prepared(version, rows)
        staged.keep(conn, kept)

    def meanwhile(conn: Connection) -> None:
        conn.execute(
            insert(erased_clients),
            {"tenant_id": erased.tenant, "client_id": erased.client_id, "erased_at": NOW},
        )
        stream = derived_stream(moved.client_id)
        thing = Append(moved.tenant, stream, moved.client_id, None, [NewEvent(THING, 1, {})], {})
        store.append(conn, [thing])

    run_in_transaction(progress.engine, prepare)
    run_in_transaction(progress.engine, meanwhile)

    def swap(conn: Connection) -> tuple[list[tuple[str, str]], int]:
        anew = staged.not_prepared(conn, tables)
        staged.forget_outdated(conn, tables)
        return anew, store.append_selected(conn, staged.still_prepared())

    anew, appended = run_in_transaction(progress.engine, swap)

    assert appended == 1
    with read(progress.engine) as conn:
        things = {
            j.client_id: [
                e.stream_version
                for e in store.read_stream(conn, j.tenant, derived_stream(j.client_id))
                if e.type == THING
            ]
            for j in (intact, erased, moved)
        }
    assert len(things[intact.client_id]) == 1
    assert things[erased.client_id] == []
    assert len(things[moved.client_id]) == 1  # its own append only: it is worked out anew
    assert anew == [(moved.tenant, moved.client_id)]


def test_the_table_an_earlier_version_left_behind_is_dropped_by_the_next_rebuild(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    improving(j)
    left = "rebuild_prepared_publications"
    run_in_transaction(
        progress.engine,
        lambda conn: conn.exec_driver_sql(f"CREATE TABLE {left} (tenant_id VARCHAR(64))"),
    )

    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), GROUP)

    with progress.engine.connect() as conn:
        assert left not in inspect(conn).get_table_names()
