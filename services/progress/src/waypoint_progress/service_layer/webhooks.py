"""Webhook subscriptions (create, read, delete, rotate the secret), their deliveries (read, retry
now), and the consumer's handler that turns progress events into deliveries.

Everything is bound to the caller's tenant: another tenant's subscription is not found. A
subscription receives the events of its kinds its consumer reads after it was created, whatever
their clinical date; each becomes one delivery per subscription (its id is the `webhook-id`),
however often the event is consumed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from waypoint_progress.adapters import webhook_store as store
from waypoint_progress.adapters.projection import by_tenant
from waypoint_progress.adapters.webhook_sender import receiver_problem
from waypoint_progress.config import WebhookSettings
from waypoint_progress.domain import webhooks
from waypoint_progress.domain.webhooks import (
    DeliveryNotFound,
    ReceiverRefused,
    SubscriptionNotFound,
)
from waypoint_shared.crypto.sealing import MasterKey, erased_among
from waypoint_shared.messaging.envelope import Envelope

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Webhooks:
    master_key: MasterKey
    settings: WebhookSettings
    clock: Clock = field(default=_now)

    # Secrets, kept wrapped by the master key, bound to the subscription.

    def wrap(self, subscription_id: str, secret: str) -> str:
        wrapped = self.master_key.wrap(secret.encode(), _binding(subscription_id))
        return base64.b64encode(wrapped).decode()

    def unwrap(self, subscription_id: str, wrapped: str) -> str:
        plain = self.master_key.unwrap(base64.b64decode(wrapped), _binding(subscription_id))
        return plain.decode()

    def signing_secrets(self, row: dict[str, Any]) -> list[str]:
        previous = row["previous_secret"]
        return webhooks.signing_secrets(
            self.unwrap(row["id"], row["secret"]),
            self.unwrap(row["id"], previous) if previous else None,
            row["previous_secret_until"],
            self.clock(),
        )

    # Subscriptions.

    def check_receiver(self, url: str) -> None:
        """Refuse a receiver by its form, an address written in it, and in production by what
        its host resolves to (checked again before every delivery)."""
        development = self.settings.development
        problem = webhooks.url_problem(url, development)
        host = urlsplit(url).hostname or ""
        if problem is None and _is_address(host):
            problem = webhooks.address_problem(host, development)
        if problem is None and not development:
            problem = receiver_problem(url, development)
        if problem:
            raise ReceiverRefused(problem)

    def subscribe(self, conn: Connection, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        self.check_receiver(body["url"])
        subscription_id, secret = str(uuid.uuid4()), webhooks.new_secret()
        row = {
            "id": subscription_id,
            "tenant_id": tenant,
            "url": body["url"],
            "event_types": sorted(set(body["event_types"])),
            "description": body.get("description"),
            "secret": self.wrap(subscription_id, secret),
            "status": store.ACTIVE,
            "created_at": self.clock(),
        }
        store.add_subscription(conn, row)
        return {**view(row), "secret": secret}

    def found(self, conn: Connection, tenant: str, subscription_id: str) -> dict[str, Any]:
        row = store.subscription(conn, tenant, subscription_id)
        if row is None:
            raise SubscriptionNotFound(subscription_id)
        return row

    def subscriptions(
        self, conn: Connection, tenant: str, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        rows = store.subscriptions(conn, tenant, cursor, limit + 1)
        more = len(rows) > limit
        items = [view(r) for r in rows[:limit]]
        return {"items": items, "next_cursor": items[-1]["id"] if more else None}

    def unsubscribe(self, conn: Connection, tenant: str, subscription_id: str) -> None:
        self.found(conn, tenant, subscription_id)
        store.remove_subscription(conn, subscription_id)

    def rotate_secret(self, conn: Connection, tenant: str, subscription_id: str) -> dict[str, Any]:
        """A new secret signs from now on; the one it replaces still signs for 24 hours."""
        row = self.found(conn, tenant, subscription_id)
        secret, now = webhooks.new_secret(), self.clock()
        changes = {
            "secret": self.wrap(subscription_id, secret),
            "previous_secret": row["secret"],
            "previous_secret_until": now + webhooks.ROTATION_OVERLAP,
        }
        store.change_subscription(conn, subscription_id, **changes)
        return {**view({**row, **changes}), "secret": secret}

    def reactivate(self, conn: Connection, tenant: str, subscription_id: str) -> dict[str, Any]:
        """A disabled subscription active again: the deliveries still pending when it was
        disabled are tried from now, each with a new retry window, and events consumed from now
        on are delivered (those consumed while it was disabled were not recorded for it). An
        active subscription is answered as it is."""
        row = self.found(conn, tenant, subscription_id)
        if row["status"] == store.ACTIVE:
            return view(row)
        changes = {
            "status": store.ACTIVE,
            "disabled_reason": None,
            "disabled_at": None,
            "failing_since": None,
        }
        store.change_subscription(conn, subscription_id, **changes)
        store.resume_pending(conn, subscription_id, self.clock())
        return view({**row, **changes})

    # Deliveries.

    def deliveries(
        self, conn: Connection, tenant: str, subscription_id: str, cursor: int | None, limit: int
    ) -> dict[str, Any]:
        self.found(conn, tenant, subscription_id)
        rows = store.deliveries(conn, subscription_id, cursor, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        attempts = store.attempts_of(conn, [r["id"] for r in rows])
        items = [delivery_view(r, attempts[r["id"]]) for r in rows]
        return {"items": items, "next_cursor": str(rows[-1]["sequence"]) if more else None}

    def retry(
        self, conn: Connection, tenant: str, subscription_id: str, delivery_id: str
    ) -> dict[str, Any]:
        """Send a delivery again now, with the same id; a failed one is pending again."""
        self.found(conn, tenant, subscription_id)
        row = store.delivery(conn, subscription_id, delivery_id)
        if row is None:
            raise DeliveryNotFound(delivery_id)
        changes = {"status": store.PENDING, "next_attempt_at": self.clock(), "finished_at": None}
        if row["status"] == store.FAILED:
            changes["first_attempt_at"] = None  # a new retry window
        store.change_delivery(conn, delivery_id, **changes)
        row = {**row, **changes}
        return delivery_view(row, store.attempts_of(conn, [delivery_id])[delivery_id])

    # The consumer's handler.

    def record(self, conn: Connection, events: list[Envelope]) -> None:
        """One delivery per (subscription, event) for every event an active subscription asks
        for, save those of clients erased before the event was consumed."""
        subscribed: dict[str, list[dict[str, Any]]] = {}
        rows, now = [], self.clock()
        erased = _erased_clients(conn, events)
        for event in events:
            kind = webhooks.event_kind(event.type)
            if kind is None or (event.tenant_id, event.client_id) in erased:
                continue
            if event.tenant_id not in subscribed:
                subscribed[event.tenant_id] = store.subscriptions_of_tenant(conn, event.tenant_id)
            for subscription in subscribed[event.tenant_id]:
                # Consumed after the subscription was made, whatever the event's clinical time:
                # a session entered today for last month is news to the receiver today.
                if kind in subscription["event_types"] and now >= subscription["created_at"]:
                    rows.append(self._delivery(subscription["id"], kind, event))
        store.add_deliveries(conn, rows)

    def _delivery(self, subscription_id: str, kind: str, event: Envelope) -> dict[str, Any]:
        body = webhooks.payload(kind, event.event_id, event.client_id, event.time, event.data)
        now = self.clock()
        return {
            "id": webhooks.delivery_id(subscription_id, event.event_id),
            "tenant_id": event.tenant_id,
            "subscription_id": subscription_id,
            "client_id": event.client_id,
            "event_id": event.event_id,
            "event_type": kind,
            "body": json.dumps(body, separators=(",", ":")),
            "created_at": now,
            "status": store.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }


def _erased_clients(conn: Connection, events: list[Envelope]) -> set[tuple[str, str]]:
    clients = by_tenant((e.tenant_id, e.client_id) for e in events)
    return {
        (tenant, client_id)
        for tenant, client_ids in clients.items()
        for client_id in erased_among(conn, tenant, client_ids)
    }


def _binding(subscription_id: str) -> str:
    return f"progress|webhook-secret|{subscription_id}"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A subscription as answered (never its secret, save once when it is made or rotated)."""
    return {
        "id": row["id"],
        "url": row["url"],
        "event_types": list(row["event_types"]),
        "description": row.get("description"),
        "status": row["status"],
        "disabled_reason": row.get("disabled_reason"),
        "disabled_at": _time(row.get("disabled_at")),
        "created_at": _time(row["created_at"]),
        "previous_secret_expires_at": _time(row.get("previous_secret_until")),
    }


def delivery_view(row: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "client_id": row["client_id"],
        "status": row["status"],
        "created_at": _time(row["created_at"]),
        "next_attempt_at": _time(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "attempts": [
            {
                "number": a["number"],
                "attempted_at": _time(a["attempted_at"]),
                "status_code": a["status_code"],
                "latency_ms": a["latency_ms"],
                "error": a["error"],
            }
            for a in attempts
        ],
    }
