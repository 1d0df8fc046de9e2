"""The tables every service database has: events (which is also the outbox), relay position,
consumer tracking, idempotency records, personal-data keys, the register of erased clients and
the audit of reads."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BigInteger on PostgreSQL, INTEGER (the rowid alias, which AUTOINCREMENT needs) on SQLite.
Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("type", String(128), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    # A stream is (tenant, stream id): two tenants' streams of one id are two streams (shared-0004).
    UniqueConstraint(
        "tenant_id", "stream_id", "stream_version", name="uq_events_tenant_stream_version"
    ),
    sqlite_autoincrement=True,
)
# A stream's events are looked up through that constraint's index, whose first columns are the
# stream; shared-0007 dropped a second index on (tenant_id, stream_id) that only doubled it.

relay_position = Table(
    "relay_position",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

relay_lock = Table(
    "relay_lock",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("consumer_group", String(128), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("next_offset", BigInteger, nullable=False),
    PrimaryKeyConstraint("consumer_group", "topic", "partition"),
)

applied_events = Table(
    "applied_events",
    metadata,
    Column("consumer_group", String(128), nullable=False),
    Column("event_id", String(36), nullable=False),
    PrimaryKeyConstraint("consumer_group", "event_id"),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The client the reply is about, so erasing the client deletes it (shared-0003).
    Column("subject", String(36), nullable=True),
    PrimaryKeyConstraint("tenant_id", "method", "path", "key"),
)

data_keys = Table(
    "data_keys",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id"),
)

# Clients whose data keys were destroyed (crypto-shredding). Never part of a rebuild's swap: it is
# what keeps a replay, a rebuild or a late event from bringing an erased client back.
erased_clients = Table(
    "erased_clients",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id"),
)

# Who read which client's data, when, through which request. Append-only: triggers refuse
# UPDATE and DELETE. The path has no query string (a query can carry personal data).
read_audit = Table(
    "read_audit",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_read_audit_client", read_audit.c.tenant_id, read_audit.c.client_id, read_audit.c.position)
