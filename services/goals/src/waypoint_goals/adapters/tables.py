"""Goals' read models beside the shared event store, and the migrations that shape them."""

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from waypoint_shared.db.database import Migration, create_tables

metadata = MetaData()

# What goals knows about each client, from intake's events.
eligibility = Table(
    "eligibility",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("referred_at", DateTime(timezone=True), nullable=False),
    # added by goals-0002
    Column("treatment_consent", String(16), nullable=True),
    Column("intake_completed_at", DateTime(timezone=True), nullable=True),
    Column("therapist_id", String(36), nullable=True),
    Column("discharged_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("tenant_id", "client_id"),
)
ELIGIBILITY_FACTS = ("treatment_consent", "intake_completed_at", "therapist_id", "discharged_at")

# The plan's index: which goals a client has (each goal is rebuilt from its own stream).
client_goals = Table(
    "client_goals",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("goal_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("position", BigInteger, nullable=False),  # of goal_proposed: the plan's order
    PrimaryKeyConstraint("tenant_id", "goal_id"),
)
Index("ix_client_goals_client", client_goals.c.tenant_id, client_goals.c.client_id)

# goals-0001 as it was applied: a migration keeps creating exactly what it first created.
_eligibility_v1 = Table(
    "eligibility",
    MetaData(),
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("referred_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id"),
)


def _add_eligibility_facts(conn: Connection) -> None:
    for name in ELIGIBILITY_FACTS:
        column_type = eligibility.c[name].type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE eligibility ADD COLUMN {name} {column_type}"))


MIGRATIONS = (
    Migration("goals-0001-eligibility", create_tables(_eligibility_v1)),
    Migration("goals-0002-eligibility-facts", _add_eligibility_facts),
    Migration("goals-0003-client-goals", create_tables(client_goals)),
)
