"""Progress's read model: the timeline."""

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

from waypoint_shared.database import Migration, create_tables

metadata = MetaData()

timeline_entries = Table(
    "timeline_entries",
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
    PrimaryKeyConstraint("tenant_id", "id"),
)
Index(
    "ix_timeline_client_order",
    timeline_entries.c.tenant_id,
    timeline_entries.c.client_id,
    timeline_entries.c.sort_key,
)

MIGRATIONS = (Migration("progress-0001-timeline", create_tables(timeline_entries)),)
