"""Progress's read model: each client's source-event facts, and the timeline derived from them.

The tables are built by name so a rebuild can fill fresh copies (`suffix="_next"`) and swap them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

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
        Column("stream_version", Integer, nullable=False),
        Column("facts", JSON, nullable=False),
        PrimaryKeyConstraint("tenant_id", "event_id", name=f"pk_source_events{suffix}"),
    )
    Index(f"ix_source_events_client{suffix}", sources.c.tenant_id, sources.c.client_id)
    return ProjectionTables(suffix, timeline, sources)


LIVE = projection_tables()
timeline_entries = LIVE.timeline_entries
source_events = LIVE.source_events

MIGRATIONS = (
    Migration("progress-0001-timeline", create_tables(timeline_entries)),
    # Timelines projected before this migration lack their facts: run rebuild-timeline once.
    Migration("progress-0002-source-events", create_tables(source_events)),
)
