"""Intake's own tables beside the shared event store: the external-id register and the
indexes that list clients and therapists (the state itself is always rebuilt from events)."""

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)

from waypoint_shared.db.database import Migration, create_tables
from waypoint_shared.db.tables import events

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

# Lists page by the referral's (registration's) global position: the order things arrived in.
client_index = Table(
    "client_index",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), primary_key=True),
    Column("position", BigInteger, nullable=False, index=True),
)

therapist_index = Table(
    "therapist_index",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("therapist_id", String(36), primary_key=True),
    Column("position", BigInteger, nullable=False, index=True),
)

REFERRED = ("waypoint.intake.client_referred.v1", "waypoint.intake.client_referred.v2")


def _index_existing_referrals(conn: Connection) -> None:
    """Clients referred before the index existed are listed too."""
    referrals = select(events.c.tenant_id, events.c.stream_id, events.c.position).where(
        events.c.type.in_(REFERRED)
    )
    conn.execute(
        insert(client_index).from_select(["tenant_id", "client_id", "position"], referrals)
    )


def _create_indexes(conn: Connection) -> None:
    create_tables(client_index, therapist_index)(conn)
    _index_existing_referrals(conn)


MIGRATIONS = (
    Migration("intake-0001-external-ids", create_tables(external_ids)),
    Migration("intake-0002-client-and-therapist-indexes", _create_indexes),
)
