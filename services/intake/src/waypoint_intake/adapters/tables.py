"""Intake's own tables beside the shared event store."""

from sqlalchemy import Column, MetaData, String, Table, UniqueConstraint

from waypoint_shared.database import Migration, create_tables

metadata = MetaData()

# external_id is personal: only a keyed hash of it is kept, to answer "already referred?".
external_ids = Table(
    "external_ids",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("external_id_hash", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    UniqueConstraint("tenant_id", "external_id_hash", name="uq_external_id_per_tenant"),
)

MIGRATIONS = (Migration("intake-0001-external-ids", create_tables(external_ids)),)
