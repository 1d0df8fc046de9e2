"""Progress's read model: each client's source-event facts, and the timeline derived from them.

The tables are built by name so a rebuild can fill fresh copies (`suffix="_next"`) and swap them in.
A fact keeps two times: `occurred_at` (clinical) and `recorded_at` (added by progress-0003). A
client's timeline is one row, its entries in timeline order (progress-0004; before, a row an
entry): the projector rewrites a client's whole timeline whenever it derives it, and one row is
one index entry to replace where an entry a row was three (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    select,
    text,
    update,
)

from waypoint_progress.domain.sources import clinical_time, utc_text
from waypoint_shared.db.database import Migration, create_tables, stored_utc


def iso(moment: datetime) -> str:
    """A time as the stored timelines and the API write it: ISO 8601 in UTC."""
    return utc_text(moment)


@dataclass(frozen=True)
class ProjectionTables:
    suffix: str
    timelines: Table
    source_events: Table

    @property
    def all(self) -> tuple[Table, ...]:
        return (self.timelines, self.source_events)


def projection_tables(suffix: str = "") -> ProjectionTables:
    """The projection's tables, named with a suffix (empty for the live ones)."""
    metadata = MetaData()
    timelines = Table(
        f"timelines{suffix}",
        metadata,
        Column("tenant_id", String(64), nullable=False),
        Column("client_id", String(36), nullable=False),
        # the entries in timeline order, each an object of `ENTRY_FIELDS`, times in ISO 8601
        Column("entries", JSON, nullable=False),
        PrimaryKeyConstraint("tenant_id", "client_id", name=f"pk_timelines{suffix}"),
    )
    sources = Table(
        f"source_events{suffix}",
        metadata,
        Column("tenant_id", String(64), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("client_id", String(36), nullable=False),
        Column("service", String(16), nullable=False),
        Column("name", String(64), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=True),
        Column("stream_version", Integer, nullable=False),
        Column("facts", JSON, nullable=False),
        PrimaryKeyConstraint("tenant_id", "event_id", name=f"pk_source_events{suffix}"),
    )
    Index(f"ix_source_events_client{suffix}", sources.c.tenant_id, sources.c.client_id)
    return ProjectionTables(suffix, timelines, sources)


ENTRY_FIELDS = (
    "id",
    "kind",
    "type",
    "title",
    "occurred_at",
    "recorded_at",
    "source_service",
    "source_event_id",
    "stream_version",
    "sort_key",
)


def _timeline_entries() -> Table:
    """The timeline as progress-0001..0003 kept it, a row an entry (progress-0004 folds it)."""
    timeline = Table(
        "timeline_entries",
        MetaData(),
        Column("tenant_id", String(64), nullable=False),
        Column("id", String(36), nullable=False),
        Column("client_id", String(36), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("type", String(64), nullable=False),
        Column("title", String(200), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=True),
        Column("source_service", String(16), nullable=False),
        Column("source_event_id", String(36), nullable=False),
        Column("stream_version", Integer, nullable=False),
        Column("sort_key", String(160), nullable=False),
        PrimaryKeyConstraint("tenant_id", "id", name="pk_timeline_entries"),
    )
    t = timeline.c
    Index("ix_timeline_client_order", t.tenant_id, t.client_id, t.sort_key)
    return timeline


LIVE = projection_tables()
timelines = LIVE.timelines
source_events = LIVE.source_events
timeline_entries = _timeline_entries()


def _as_first_created(table: Table) -> Table:
    """A live table as progress-0001/0002 created it: without `recorded_at`."""
    columns = [
        Column(c.name, c.type, nullable=c.nullable) for c in table.c if c.name != "recorded_at"
    ]
    first = Table(
        table.name,
        MetaData(),
        *columns,
        PrimaryKeyConstraint(*table.primary_key.columns.keys(), name=f"pk_{table.name}"),
    )
    for index in table.indexes:
        Index(index.name, *(first.c[c.name] for c in index.columns))
    return first


def _add_recorded_at(conn: Connection) -> None:
    """Both tables get `recorded_at`: until now `occurred_at` held the recorded time, which moves
    there; a kept fact's `occurred_at` becomes its clinical time (docs/progress.md). Stored
    timelines keep their times until their client's next event or a rebuild-timeline."""
    for table in (timeline_entries, source_events):
        column_type = table.c.recorded_at.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN recorded_at {column_type}"))
        conn.execute(update(table).values(recorded_at=table.c.occurred_at))
    t = source_events
    for row in conn.execute(
        select(t.c.tenant_id, t.c.event_id, t.c.name, t.c.facts, t.c.recorded_at)
    ).all():
        _set_clinical_time(conn, row)


def _set_clinical_time(conn: Connection, row: Any) -> None:
    t = source_events
    recorded = stored_utc(row.recorded_at)
    clinical = clinical_time(row.name, row.facts, recorded)
    if clinical != recorded:
        key = (t.c.tenant_id == row.tenant_id, t.c.event_id == row.event_id)
        conn.execute(update(t).where(*key).values(occurred_at=clinical))


def _one_row_per_client(conn: Connection) -> None:
    """Each client's timeline entries folded into one row of `timelines`, in their order (the
    copy an interrupted rebuild left is dropped: the next rebuild starts afresh anyway)."""
    old = timeline_entries
    conn.execute(text(f"DROP TABLE IF EXISTS {old.name}_next"))
    timelines.create(conn)
    rows = conn.execute(select(old).order_by(old.c.tenant_id, old.c.client_id, old.c.sort_key))
    for (tenant_id, client_id), theirs in groupby(rows, key=lambda r: (r.tenant_id, r.client_id)):
        row = {"tenant_id": tenant_id, "client_id": client_id}
        conn.execute(insert(timelines).values(**row, entries=list(map(_entry_document, theirs))))
    old.drop(conn)


def _entry_document(row: Any) -> dict[str, Any]:
    recorded = row.recorded_at or row.occurred_at
    times = {"occurred_at": iso(row.occurred_at), "recorded_at": iso(recorded)}
    fields = {**row._mapping, **times}
    return {name: fields[name] for name in ENTRY_FIELDS}


MIGRATIONS = (
    Migration("progress-0001-timeline", create_tables(_as_first_created(timeline_entries))),
    # Timelines projected before this migration lack their facts: run rebuild-timeline once.
    Migration("progress-0002-source-events", create_tables(_as_first_created(source_events))),
    Migration("progress-0003-clinical-and-recorded-time", _add_recorded_at),
    Migration("progress-0004-a-timeline-a-row", _one_row_per_client),
)
