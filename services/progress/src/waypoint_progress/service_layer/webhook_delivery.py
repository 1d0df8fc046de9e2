"""The delivery worker's loop: sends every delivery that is due, each subscription in a thread of
its own, so a receiver that hangs holds up only its own subscription (and each attempt is bounded
by a timeout); nothing here runs in the projector's process.

Per subscription and client, only the first pending delivery is sent (`webhook_store.due_heads`),
so a client's deliveries arrive in the order they were recorded. Each attempt is leased in the
database first (two workers never send one delivery at once), signed afresh with the secrets in
force, and its outcome, the next attempt's time or the end of the retry window, and a disabled
subscription's reason are stored at once: a restarted worker goes on from there.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from waypoint_progress.adapters import webhook_metrics, webhook_sender
from waypoint_progress.adapters import webhook_store as store
from waypoint_progress.adapters.webhook_sender import Outcome
from waypoint_progress.domain import webhooks
from waypoint_progress.service_layer.webhooks import Webhooks
from waypoint_shared.db.database import run_in_transaction

log = logging.getLogger(__name__)
Send = Callable[[str, bytes, dict[str, str], float, bool], Outcome]
LEASE_MARGIN = 30.0  # seconds a lease outlives the attempt's timeout
POLL_SECONDS = 0.2
METRICS_SECONDS = 1.0
MAX_SENDERS = 64  # subscriptions sent to at once; each attempt is bounded by the timeout


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        hooks: Webhooks,
        send: Send = webhook_sender.send,
        draw: Callable[[], float] = random.random,
    ):
        self.engine, self.hooks, self.send, self.draw = engine, hooks, send, draw
        self.settings = hooks.settings
        self.senders: dict[str, threading.Thread] = {}
        self.shown: set[str] = set()

    def run(self, stop: threading.Event) -> None:
        reported = 0.0
        while not stop.is_set():
            self.dispatch_once()
            if time.monotonic() - reported > METRICS_SECONDS:
                self.report()
                reported = time.monotonic()
            stop.wait(POLL_SECONDS)

    def dispatch_once(self) -> int:
        """Start a sender for every subscription with deliveries due and none running (at most
        MAX_SENDERS at once: the others wait for the next round)."""
        now = self.hooks.clock()
        heads = run_in_transaction(self.engine, lambda c: store.due_heads(c, now), write=False)
        by_subscription: dict[str, list[dict[str, Any]]] = {}
        for head in heads:
            by_subscription.setdefault(head["subscription_id"], []).append(head)
        self.senders = {s: thread for s, thread in self.senders.items() if thread.is_alive()}
        started = 0
        for subscription_id, due in by_subscription.items():
            if subscription_id in self.senders or len(self.senders) >= MAX_SENDERS:
                continue
            thread = threading.Thread(
                target=self.send_all, args=(due,), name=f"webhooks-{subscription_id}", daemon=True
            )
            self.senders[subscription_id] = thread
            thread.start()
            started += 1
        return started

    def send_all(self, due: list[dict[str, Any]]) -> None:
        for delivery in due:
            try:
                self.attempt(delivery)
            except Exception:
                log.exception("webhook delivery %s failed to run", delivery["id"])

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait for every running sender (tests)."""
        for thread in list(self.senders.values()):
            thread.join(timeout)

    def attempt(self, delivery: dict[str, Any]) -> Outcome | None:
        """One attempt at one delivery, if this worker gets its lease."""
        now = self.hooks.clock()
        lease_seconds = self.settings.timeout + LEASE_MARGIN
        subscription = run_in_transaction(
            self.engine, lambda c: self._take(c, delivery, now, lease_seconds)
        )
        if subscription is None:
            return None
        body = delivery["body"].encode()
        stamp = int(self.hooks.clock().timestamp())
        signature = webhooks.signature_header(
            self.hooks.signing_secrets(subscription), delivery["id"], stamp, body
        )
        headers = {
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        }
        outcome = self.send(
            subscription["url"], body, headers, self.settings.timeout, self.settings.development
        )
        run_in_transaction(self.engine, lambda c: self._settle(c, delivery, subscription, outcome))
        return outcome

    def _take(
        self, conn: Connection, delivery: dict[str, Any], now: datetime, seconds: float
    ) -> dict[str, Any] | None:
        if not store.lease(conn, delivery["id"], now, seconds):
            return None
        subscription = store.subscription(conn, delivery["tenant_id"], delivery["subscription_id"])
        if subscription is None or subscription["status"] != store.ACTIVE:
            store.change_delivery(conn, delivery["id"], lease_until=None)
            return None
        return subscription

    def _settle(
        self,
        conn: Connection,
        delivery: dict[str, Any],
        subscription: dict[str, Any],
        outcome: Outcome,
    ) -> None:
        """Store the attempt and what follows from it."""
        now = self.hooks.clock()
        current = store.delivery(conn, delivery["subscription_id"], delivery["id"])
        if current is None:  # the subscription was deleted meanwhile
            return
        number = current["attempts"] + 1
        store.add_attempt(conn, attempt_row(delivery["id"], number, now, outcome))
        first = current["first_attempt_at"] or now
        changes: dict[str, Any] = {"attempts": number, "first_attempt_at": first}
        if webhooks.succeeded(outcome.status_code):
            changes.update(status=store.DELIVERED, finished_at=now)
            store.change_subscription(conn, subscription["id"], failing_since=None)
            webhook_metrics.count("delivered")
        else:
            changes.update(self._after_failure(first, number, now))
            self._failing(conn, subscription, now)
        store.change_delivery(conn, delivery["id"], lease_until=None, **changes)

    def _after_failure(self, first: datetime, number: int, now: datetime) -> dict[str, Any]:
        """The next attempt's time, or the delivery given up once past the retry window."""
        later = self.settings.schedule.next_attempt(first, number, now, self.draw())
        webhook_metrics.count("failed" if later is None else "retrying")
        if later is None:
            return {"status": store.FAILED, "finished_at": now}
        return {"next_attempt_at": later}

    def _failing(self, conn: Connection, subscription: dict[str, Any], now: datetime) -> None:
        """Note when the subscription began failing; disable it once that is long enough."""
        fresh = store.subscription(conn, subscription["tenant_id"], subscription["id"]) or {}
        since = fresh.get("failing_since") or now
        reason = webhooks.disable_reason(since, now, self.settings.disable_after)
        if reason is None:
            store.change_subscription(conn, subscription["id"], failing_since=since)
            return
        store.change_subscription(
            conn,
            subscription["id"],
            failing_since=since,
            status=store.DISABLED,
            disabled_reason=reason,
            disabled_at=now,
        )
        log.warning("webhook subscription %s disabled: %s", subscription["id"], reason)

    def report(self) -> None:
        oldest = run_in_transaction(self.engine, store.oldest_undelivered, write=False)
        self.shown = webhook_metrics.report_oldest(oldest, self.hooks.clock(), self.shown)


def attempt_row(delivery_id: str, number: int, at: datetime, outcome: Outcome) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "number": number,
        "attempted_at": at,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
    }
