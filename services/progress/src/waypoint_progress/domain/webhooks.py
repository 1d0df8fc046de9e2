"""Webhook rules: which events a subscription may ask for, which receivers may be called, when a
failed delivery is tried again, when a subscription is disabled, how a delivery is signed
(Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`) and
what its payload carries: ids, kinds, titles, times and scores, never a personal field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

EVENT_TYPES = (
    "milestone_reached",
    "milestone_withdrawn",
    "alert_raised",
    "alert_acknowledged",
    "session_recorded",
)
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)  # how long the secret before a rotation still signs
DELIVERY_NAMESPACE = uuid.UUID("5b0e5f3c-3f1e-4d5e-9a43-7d3c1f0b8e21")

# What each kind of payload carries from its event, besides the event and client ids.
PAYLOAD_FIELDS: Mapping[str, tuple[str, ...]] = {
    "milestone_reached": ("milestone_id", "rule", "title", "reached_at", "source_event_id"),
    "milestone_withdrawn": ("milestone_id", "rule", "withdrawn_at", "source_event_id"),
    "alert_raised": ("alert_id", "rule", "title", "raised_at", "source_event_id"),
    "alert_acknowledged": ("alert_id",),
    "session_recorded": ("session_id", "date", "attended"),
}
MEASURE_FIELDS = ("instrument", "total", "band")


class SubscriptionNotFound(Exception):
    """No such subscription in the caller's tenant (another tenant's is answered the same)."""


class DeliveryNotFound(Exception):
    """No such delivery of this subscription."""


class ReceiverRefused(Exception):
    """A receiver URL the rules do not allow; the message says why."""


def event_kind(event_type: str) -> str | None:
    """`waypoint.progress.milestone_reached.v1` → `milestone_reached`, if webhooks carry it."""
    parts = event_type.split(".")
    kind = parts[2] if len(parts) == 4 and parts[1] == "progress" else None
    return kind if kind in EVENT_TYPES else None


# Receivers (SSRF): https only in production, and never an address inside the deployment.


def url_problem(url: str, development: bool) -> str | None:
    """Why a receiver URL is refused by its form, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The receiver must be an absolute https URL."
    if parts.scheme == "http" and not development:
        return "The receiver must use https."
    if parts.username or parts.password or parts.fragment:
        return "The receiver URL may carry no credentials and no fragment."
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        return "The receiver URL has an invalid port."
    return None


def address_problem(address: str, development: bool) -> str | None:
    """Why a receiver's resolved address is refused, or None. Production allows only public
    addresses; development also allows loopback and private ones (http://127.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return f"The receiver resolves to {ip}, a link-local, multicast or unspecified address."
    if development and (ip.is_loopback or ip.is_private):
        return None
    if not ip.is_global:
        return f"The receiver resolves to {ip}, a loopback, private or reserved address."
    return None


def addresses_problem(addresses: Sequence[str], development: bool) -> str | None:
    """Why a receiver is refused by what its host resolves to (every address must pass)."""
    if not addresses:
        return "The receiver's host does not resolve."
    for address in addresses:
        problem = address_problem(address, development)
        if problem:
            return problem
    return None


# Retries: exponential back-off with jitter, for a bounded window.


@dataclass(frozen=True)
class RetrySchedule:
    """Seconds to wait after attempt 1, 2, … (the last repeats), each drawn within ±`jitter` of
    it; a delivery not made within `window` seconds of its first attempt is given up."""

    delays: tuple[float, ...]
    window: float
    jitter: float = 0.2

    def delay_after(self, attempts: int, draw: float) -> float:
        """The wait after the `attempts`-th failed attempt; `draw` is uniform in [0, 1)."""
        base = self.delays[min(max(attempts, 1), len(self.delays)) - 1]
        return base * (1 - self.jitter + 2 * self.jitter * draw)

    def next_attempt(
        self, first_attempt: datetime, attempts: int, now: datetime, draw: float
    ) -> datetime | None:
        """When to try again after a failure, or None when that is past the window."""
        at = now + timedelta(seconds=self.delay_after(attempts, draw))
        return at if at - first_attempt <= timedelta(seconds=self.window) else None


PRODUCTION_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
DEVELOPMENT_DELAYS = (1.0, 5.0, 30.0, 120.0, 600.0, 3600.0)
RETRY_WINDOW = 24 * 3600.0
DISABLE_AFTER = 3 * 24 * 3600.0


def disable_reason(failing_since: datetime | None, now: datetime, after: float) -> str | None:
    """Why a subscription is disabled now, or None: it has failed without a success for `after`
    seconds."""
    if failing_since is None or now - failing_since < timedelta(seconds=after):
        return None
    hours = after / 3600
    return (
        f"Every delivery failed from {failing_since.isoformat()} for {hours:g} hours; "
        "no delivery succeeded since."
    )


def succeeded(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


# Signing (Standard Webhooks).


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the secret's key."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(in_force: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret in force, space-separated."""
    return " ".join(signature(s, message_id, timestamp, body) for s in in_force)


def signing_secrets(
    current: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign now: the current one, and the one before a rotation for 24 h."""
    if previous and previous_until and now < previous_until:
        return [current, previous]
    return [current]


# Deliveries and their payloads.


def delivery_id(subscription_id: str, event_id: str) -> str:
    """The delivery's `webhook-id`: the same for one event to one subscription, every retry."""
    return "msg_" + uuid.uuid5(DELIVERY_NAMESPACE, f"{subscription_id}:{event_id}").hex


def payload(
    kind: str, event_id: str, client_id: str, time: datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The body of a delivery, from the event's plain fields: only those listed are copied."""
    carried = {name: data[name] for name in PAYLOAD_FIELDS[kind] if name in data}
    if kind == "session_recorded":
        carried["measures"] = [
            {name: measure.get(name) for name in MEASURE_FIELDS}
            for measure in data.get("measures", [])
        ]
    if kind == "alert_acknowledged":
        carried["acknowledged_at"] = time.isoformat()
    return {
        "type": kind,
        "timestamp": time.isoformat(),
        "data": {"event_id": event_id, "client_id": client_id, **carried},
    }
