"""The projector's statements find their rows through indexes by client or event: none reads a
whole table, or every row of a tenant, so a batch costs the same however many facts and events
the store already holds.

Each statement a batch runs on SQLite is asked for its plan (`EXPLAIN QUERY PLAN`): the driver's
trace sees every one, those run through SQLAlchemy and those run on the driver's cursor
(`Prepared`) alike, with its values written in. A `SCAN` of a table (other than of the JSON list
an id list is bound as) reads every row of it; a `SEARCH` whose index is bound by the tenant alone
reads every row of the tenant (as the look-up of a batch's kept facts once did, its cost growing
with the table)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import event

from waypoint_progress.bootstrap import Container
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

# SQLite's own `sqlite_sequence` holds a row per AUTOINCREMENT table: read whole, it stays small.
WHOLE_TABLE = re.compile(r"^SCAN (?!anon_\d+ VIRTUAL TABLE|sqlite_sequence$)")
WHOLE_TENANT = re.compile(r"^SEARCH \w+ USING (COVERING )?INDEX \w+ \(tenant_id=\?\)$")


def plans_of(progress: Container, apply: Callable[[], None]) -> dict[str, list[str]]:
    """The plan of every statement (other than inserts) run while `apply` runs."""
    statements: list[str] = []

    def trace(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    def untrace(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(progress.engine, "checkout", trace)
    event.listen(progress.engine, "checkin", untrace)
    try:
        apply()
    finally:
        event.remove(progress.engine, "checkout", trace)
        event.remove(progress.engine, "checkin", untrace)
    reads = {s for s in statements if s.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE"))}
    connection = progress.engine.raw_connection()
    try:
        cursor = connection.cursor()
        return {s: [row[3] for row in cursor.execute(f"EXPLAIN QUERY PLAN {s}")] for s in reads}
    finally:
        connection.close()


def test_no_statement_of_a_projected_batch_reads_a_whole_table(progress: Container) -> None:
    journeys = [JourneyEvents(), JourneyEvents(), JourneyEvents(tenant="clinic-b")]
    first: list[Envelope] = [j.referral() for j in journeys]
    rest: list[Envelope] = [e for j in journeys for e in j.acceptance_journey()]

    def project() -> None:
        for batch in (first, rest):
            apply = partial(progress.projector.handle_all, events=batch)
            run_in_transaction(progress.engine, apply)

    plans = plans_of(progress, project)

    assert len(plans) >= 5  # the facts, the timelines, the derived streams, the erasures...
    whole = (WHOLE_TABLE, WHOLE_TENANT)
    scans = {s: p for s, p in plans.items() if any(w.match(step) for w in whole for step in p)}
    assert scans == {}
