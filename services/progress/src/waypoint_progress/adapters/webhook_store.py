"""Webhook subscriptions, deliveries and attempts: the tables (migration `progress-webhooks-0001`)
and the SQL over them. Retry state lives here, so a restarted worker goes on where it stopped.

A delivery's id is its `webhook-id` (domain/webhooks.py:delivery_id), its primary key, so the
consumer records one delivery per (subscription, event) however often the event is replayed.
`sequence` keeps the order in which the consumer recorded them: per client, a subscription's
deliveries are sent in that order. Signing secrets are stored wrapped by the master key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import JSON, DateTime, Integer, String, Text

from waypoint_shared.db.database import Migration, create_tables, stored_utc
from waypoint_shared.db.tables import Position  # the auto-increment key on both stores

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ACTIVE, DISABLED = "active", "disabled"
metadata = MetaData()

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(500), nullable=True),
    Column("secret", Text, nullable=False),  # wrapped by the master key
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_until", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", String(500), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("failing_since", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("webhook_subscriptions_by_tenant", "tenant_id", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("sequence", Position, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("subscription_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("body", Text, nullable=False),  # the payload's JSON, sent as it is on every attempt
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("first_attempt_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("webhook_deliveries_due", "status", "next_attempt_at"),
    Index("webhook_deliveries_by_subscription", "subscription_id", "client_id", "sequence"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(500), nullable=True),
    Index("webhook_attempts_by_delivery", "delivery_id", "number", unique=True),
)


def _index_deliveries_by_client(conn: Connection) -> None:
    """An erasure finds the client's deliveries without reading every delivery."""
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS webhook_deliveries_by_client "
            "ON webhook_deliveries (tenant_id, client_id)"
        )
    )


MIGRATIONS = (
    Migration(
        "progress-webhooks-0001",
        create_tables(webhook_subscriptions, webhook_deliveries, webhook_attempts),
    ),
    Migration("progress-webhooks-0002-deliveries-by-client", _index_deliveries_by_client),
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return None if value is None else stored_utc(value)


def as_dict(row: Any) -> dict[str, Any]:
    return {k: _aware(v) if isinstance(v, datetime) else v for k, v in row._mapping.items()}


# Subscriptions.


def add_subscription(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(insert(webhook_subscriptions).values(**row))


def _one(conn: Connection, table: Table, **equal: str) -> dict[str, Any] | None:
    """The row of `table` whose columns equal the values given, if any."""
    query = select(table).where(*(table.c[name] == value for name, value in equal.items()))
    found = conn.execute(query).first()
    return as_dict(found) if found else None


def subscription(conn: Connection, tenant_id: str, subscription_id: str) -> dict[str, Any] | None:
    return _one(conn, webhook_subscriptions, tenant_id=tenant_id, id=subscription_id)


def subscriptions(
    conn: Connection, tenant_id: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(webhook_subscriptions).where(webhook_subscriptions.c.tenant_id == tenant_id)
    if after:
        query = query.where(webhook_subscriptions.c.id > after)
    rows = conn.execute(query.order_by(webhook_subscriptions.c.id).limit(limit)).all()
    return [as_dict(r) for r in rows]


def subscriptions_of_tenant(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    query = select(webhook_subscriptions).where(
        webhook_subscriptions.c.tenant_id == tenant_id, webhook_subscriptions.c.status == ACTIVE
    )
    return [as_dict(r) for r in conn.execute(query)]


def change_subscription(conn: Connection, subscription_id: str, **values: Any) -> None:
    conn.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(**values)
    )


def remove_subscription(conn: Connection, subscription_id: str) -> None:
    _remove_deliveries(conn, webhook_deliveries.c.subscription_id == subscription_id)
    conn.execute(delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id))


def forget_client(conn: Connection, tenant_id: str, client_id: str) -> None:
    """An erased client's deliveries and their attempts, of every subscription, whatever their
    status: nothing about the client is sent or kept any more."""
    d = webhook_deliveries.c
    _remove_deliveries(conn, and_(d.tenant_id == tenant_id, d.client_id == client_id))


def _remove_deliveries(conn: Connection, which: Any) -> None:
    ids = select(webhook_deliveries.c.id).where(which)
    conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
    conn.execute(delete(webhook_deliveries).where(which))


# Deliveries.


def add_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Record deliveries, leaving out any whose id is already recorded."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(webhook_deliveries).on_conflict_do_nothing(), rows)


def delivery(conn: Connection, subscription_id: str, delivery_id: str) -> dict[str, Any] | None:
    return _one(conn, webhook_deliveries, subscription_id=subscription_id, id=delivery_id)


def deliveries(
    conn: Connection, subscription_id: str, after: int | None, limit: int
) -> list[dict[str, Any]]:
    query = select(webhook_deliveries).where(
        webhook_deliveries.c.subscription_id == subscription_id
    )
    if after is not None:
        query = query.where(webhook_deliveries.c.sequence > after)
    rows = conn.execute(query.order_by(webhook_deliveries.c.sequence).limit(limit)).all()
    return [as_dict(r) for r in rows]


def attempts_of(conn: Connection, delivery_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    query = (
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.number)
    )
    for row in conn.execute(query):
        found[row.delivery_id].append(as_dict(row))
    return found


def change_delivery(conn: Connection, delivery_id: str, **values: Any) -> None:
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values)
    )


def resume_pending(conn: Connection, subscription_id: str, now: datetime) -> None:
    """A subscription's pending deliveries due now, each with a retry window starting afresh."""
    conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.subscription_id == subscription_id,
            webhook_deliveries.c.status == PENDING,
        )
        .values(next_attempt_at=now, first_attempt_at=None)
    )


def due_heads(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per active subscription and client, the first pending delivery, where it is due and not
    leased: the ones that may be sent now without overtaking an earlier one."""
    d, s = webhook_deliveries, webhook_subscriptions
    heads = (
        select(func.min(d.c.sequence).label("sequence"))
        .where(d.c.status == PENDING)
        .group_by(d.c.subscription_id, d.c.client_id)
        .subquery()
    )
    query = (
        select(d)
        .join(heads, heads.c.sequence == d.c.sequence)
        .join(s, and_(s.c.id == d.c.subscription_id, s.c.status == ACTIVE))
        .where(
            d.c.next_attempt_at <= now,
            or_(d.c.lease_until.is_(None), d.c.lease_until < now),
        )
        .order_by(d.c.sequence)
    )
    return [as_dict(r) for r in conn.execute(query)]


def lease(conn: Connection, delivery_id: str, now: datetime, seconds: float) -> bool:
    """Take a delivery for one attempt; False when another worker holds it."""
    d = webhook_deliveries
    taken = conn.execute(
        update(d)
        .where(
            d.c.id == delivery_id,
            d.c.status == PENDING,
            or_(d.c.lease_until.is_(None), d.c.lease_until < now),
        )
        .values(lease_until=now + timedelta(seconds=seconds))
    )
    return bool(taken.rowcount == 1)


def add_attempt(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(insert(webhook_attempts).values(**row))


def oldest_undelivered(conn: Connection) -> dict[str, datetime]:
    """Per subscription with pending deliveries, when the oldest of them was recorded."""
    d = webhook_deliveries
    query = (
        select(d.c.subscription_id, func.min(d.c.created_at))
        .where(d.c.status == PENDING)
        .group_by(d.c.subscription_id)
    )
    return {sid: stored_utc(at) for sid, at in conn.execute(query)}
