"""Goals' read models beside the shared event store."""

from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, String, Table

from waypoint_shared.database import Migration, create_tables

metadata = MetaData()

# What goals knows about each client, from intake's events.
eligibility = Table(
    "eligibility",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("referred_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id"),
)

MIGRATIONS = (Migration("goals-0001-eligibility", create_tables(eligibility)),)
