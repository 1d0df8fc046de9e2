"""`keep_and_read` keeps a batch's facts and gives each client's kept facts without reading the
new ones back: exactly what `remember` and then `facts_of_clients` give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.projection import Client
from waypoint_progress.adapters.tables import LIVE
from waypoint_progress.bootstrap import Container
from waypoint_progress.domain.sources import SourceEvent
from waypoint_shared.db.database import run_in_transaction

AT = datetime(2026, 5, 1, 10, 0, 0, 654321, tzinfo=UTC)


def fact(event_id: str, client_id: str, tenant: str = "clinic-a", n: int = 1) -> SourceEvent:
    at = AT + timedelta(hours=n)
    facts = {"session_id": f"s-{event_id}", "measures": [{"total": 7.5}], "personal": []}
    return SourceEvent(
        event_id, "progress", "session_recorded", tenant, client_id, at, n, facts, at
    )


Histories = list[tuple[Client, list[SourceEvent]]]


def kept_facts(progress: Container, batches: list[list[SourceEvent]], direct: bool) -> Histories:
    """The histories the last batch gives, each sorted by event id."""

    def apply(conn: Connection, batch: list[SourceEvent]) -> dict[Client, list[SourceEvent]]:
        if direct:
            return projection.keep_and_read(conn, batch)
        projection.remember(conn, batch)
        return projection.facts_of_clients(conn, {(s.tenant_id, s.client_id) for s in batch})

    found: dict[Client, list[SourceEvent]] = {}
    for batch in batches:
        found = run_in_transaction(progress.engine, partial(apply, batch=batch))
    return sorted((client, sorted(h, key=lambda s: s.event_id)) for client, h in found.items())


def test_the_histories_are_those_read_back_after_the_insert(progress: Container) -> None:
    before = [fact("e1", "c1"), fact("e2", "c2"), fact("e9", "c9", tenant="clinic-b")]
    batch = [
        fact("e3", "c1", n=2),  # a client with facts kept before
        fact("e4", "c3"),  # a new client
        fact("e4", "c3", n=5),  # the same event again in the batch: the first is kept
        fact("e2", "c1", n=7),  # an event id kept before for another client of the tenant
        fact("e1", "c1", n=8),  # an event id kept before for this client: the kept one stays
        fact("e9", "c9"),  # another tenant's event id: a fact of its own here
    ]
    ours = kept_facts(progress, [before, batch], direct=True)

    run_in_transaction(progress.engine, lambda c: c.execute(LIVE.source_events.delete()))
    reference = kept_facts(progress, [before, batch], direct=False)

    assert ours == reference
    assert [c for c, _ in ours] == [("clinic-a", "c1"), ("clinic-a", "c3"), ("clinic-a", "c9")]
    assert [s.stream_version for s in ours[0][1]] == [1, 2]  # e1 as kept before, e3
