"""Progress's read model: each client's source-event facts, and the timeline derived from them.

The tables are built by name so a rebuild can fill fresh copies (`suffix="_next"`) and swap them in.
Both keep two times per row: `occurred_at` (clinical) and `recorded_at` (added by progress-0003).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
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
    select,
    text,
    update,
)

from waypoint_progress.domain.sources import clinical_time
from waypoint_shared.db.database import Migration, create_tables


@dataclass(frozen=True)
class ProjectionTables:
    suffix: str
    timeline_entries: Table
    source_events: Table

    @property
    def all(self) -> tuple[Table, ...]:
        return (self.timeline_entries, self.source_events)


def projection_tables(suffix: str = "") -> ProjectionTables:
    """The projection's tables, named with a suffix (empty for the live ones)."""
    metadata = MetaData()
    timeline = Table(
        f"timeline_entries{suffix}",
        metadata,
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
        PrimaryKeyConstraint("tenant_id", "id", name=f"pk_timeline_entries{suffix}"),
    )
    Index(
        f"ix_timeline_client_order{suffix}",
        timeline.c.tenant_id,
        timeline.c.client_id,
        timeline.c.sort_key,
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
    return ProjectionTables(suffix, timeline, sources)


LIVE = projection_tables()
timeline_entries = LIVE.timeline_entries
source_events = LIVE.source_events


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
    for table in LIVE.all:
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
    recorded = row.recorded_at
    recorded = recorded if recorded.tzinfo else recorded.replace(tzinfo=UTC)  # SQLite keeps none
    clinical = clinical_time(row.name, row.facts, recorded)
    if clinical != recorded:
        key = (t.c.tenant_id == row.tenant_id, t.c.event_id == row.event_id)
        conn.execute(update(t).where(*key).values(occurred_at=clinical))


MIGRATIONS = (
    Migration("progress-0001-timeline", create_tables(_as_first_created(timeline_entries))),
    # Timelines projected before this migration lack their facts: run rebuild-timeline once.
    Migration("progress-0002-source-events", create_tables(_as_first_created(source_events))),
    Migration("progress-0003-clinical-and-recorded-time", _add_recorded_at),
)
