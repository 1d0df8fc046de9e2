"""Webhook metrics, on the delivery worker's /metrics: attempts by outcome, and per subscription
how long its oldest undelivered delivery has waited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import Counter, Gauge

DELIVERIES = Counter(
    "waypoint_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later), "
    "failed (given up after the retry window)",
    ["outcome"],
)
OLDEST_UNDELIVERED = Gauge(
    "waypoint_webhook_oldest_undelivered_seconds",
    "Seconds the oldest delivery not yet made to a subscription has waited",
    ["subscription"],
)
for outcome in ("delivered", "retrying", "failed"):  # exported as 0 before the first one
    DELIVERIES.labels(outcome)


def count(outcome: str) -> None:
    DELIVERIES.labels(outcome).inc()


def report_oldest(oldest: Mapping[str, datetime], now: datetime, shown: set[str]) -> set[str]:
    """Set the gauge for every subscription with a delivery waiting, 0 for those shown before
    that have none now; returns the subscriptions shown."""
    for subscription in shown - set(oldest):
        OLDEST_UNDELIVERED.labels(subscription).set(0)
    for subscription, since in oldest.items():
        OLDEST_UNDELIVERED.labels(subscription).set(max(0.0, (now - since).total_seconds()))
    return shown | set(oldest)
