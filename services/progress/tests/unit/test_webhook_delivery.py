"""The delivery worker against real receivers on 127.0.0.1, on its own SQLite store: progress
events become one signed delivery per subscription, failures are tried again with the same
`webhook-id`, a client's deliveries keep their order, a hanging receiver holds up only its own
subscription, and the retry state survives a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from waypoint_devkit.webhook_receiver import drive, milestone, receiving
from waypoint_progress.adapters import webhook_store as store
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.service_layer.webhook_delivery import Dispatcher
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.messaging.envelope import Envelope

FAST = {"PROGRESS_WEBHOOK_RETRY_DELAYS": "0.05", "PROGRESS_WEBHOOK_TIMEOUT_SECONDS": "5"}


def started(var: Path, **env: str) -> Container:
    settings = {"WAYPOINT_VAR_DIR": str(var), "WAYPOINT_ENV": "development", **FAST, **env}
    return bootstrap(load_settings("progress", settings))


@pytest.fixture
def progress(tmp_path: Path) -> Iterator[Container]:
    container = started(tmp_path)
    yield container
    container.engine.dispose()


def subscribe(progress: Container, url: str, tenant: str = "clinic-a", **body: Any) -> Any:
    request = {"url": url, "event_types": ["milestone_reached", "alert_raised"], **body}
    return run_in_transaction(
        progress.engine, lambda conn: progress.webhooks.subscribe(conn, tenant, request)
    )


def consume(progress: Container, *events: Envelope) -> None:
    run_in_transaction(progress.engine, lambda conn: progress.webhooks.record(conn, list(events)))


def deliveries(progress: Container, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    with read(progress.engine) as conn:
        page = progress.webhooks.deliveries(conn, "clinic-a", subscription["id"], None, 100)
    return list(page["items"])


def one_milestone_to(progress: Container, url: str) -> tuple[dict[str, Any], Dispatcher]:
    """A subscription, a milestone for it, and a dispatcher to send it."""
    subscription = subscribe(progress, url)
    consume(progress, milestone(str(uuid.uuid4())))
    return subscription, Dispatcher(progress.engine, progress.webhooks)


def status_is(progress: Container, subscription: dict[str, Any], status: str) -> Callable[[], bool]:
    return lambda: bool(deliveries(progress, subscription)[0]["status"] == status)


def status_of(progress: Container, subscription: dict[str, Any]) -> str:
    with read(progress.engine) as conn:
        return str(progress.webhooks.found(conn, "clinic-a", subscription["id"])["status"])


def test_each_event_becomes_one_signed_delivery_that_verifies_with_standardwebhooks(
    progress: Container,
) -> None:
    with receiving() as receiver:
        subscription = subscribe(progress, receiver.url)
        event = milestone(str(uuid.uuid4()))
        consume(progress, event)
        consume(progress, event)  # consumed again: still one delivery
        drive(
            Dispatcher(progress.engine, progress.webhooks).dispatch_once,
            lambda: len(receiver.received) == 1,
        )
        time.sleep(0.2)

    [got] = receiver.received
    body = Webhook(subscription["secret"]).verify(got.body, got.headers)
    [delivery] = deliveries(progress, subscription)
    assert got.headers["webhook-id"] == delivery["id"] and delivery["status"] == "delivered"
    assert body["type"] == "milestone_reached"
    assert body["data"]["client_id"] == event.client_id
    assert body["data"]["milestone_id"] == event.data["milestone_id"]
    assert body["data"]["title"] == "First goal set"


def test_a_receiver_answering_500_three_times_gets_it_on_the_fourth_attempt_with_the_same_id(
    progress: Container,
) -> None:
    with receiving([500, 500, 500]) as receiver:
        subscription, dispatcher = one_milestone_to(progress, receiver.url)
        drive(dispatcher.dispatch_once, status_is(progress, subscription, "delivered"))

    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    for got in receiver.received:
        Webhook(subscription["secret"]).verify(got.body, got.headers)
    [delivery] = deliveries(progress, subscription)
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3, 4]
    assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500"] * 3 + [None]
    assert all(a["latency_ms"] >= 0 and a["attempted_at"] for a in delivery["attempts"])


def test_a_clients_deliveries_arrive_in_order_even_when_the_first_must_be_retried(
    progress: Container,
) -> None:
    client = str(uuid.uuid4())
    with receiving([500]) as receiver:
        subscribe(progress, receiver.url)
        consume(progress, milestone(client, rule="first_goal"), milestone(client, rule="small_win"))
        drive(
            Dispatcher(progress.engine, progress.webhooks).dispatch_once,
            lambda: len(receiver.received) == 3,
        )

    bodies = [r.body for r in receiver.received]
    assert [b'"first_goal"' in b for b in bodies] == [True, True, False]
    assert b'"small_win"' in bodies[2]


def test_a_hanging_receiver_does_not_delay_another_subscription(progress: Container) -> None:
    with receiving(hang=True) as hanging, receiving() as answering:
        subscribe(progress, hanging.url)
        subscribe(progress, answering.url)
        consume(progress, milestone(str(uuid.uuid4())))
        dispatcher = Dispatcher(progress.engine, progress.webhooks)
        begun = time.monotonic()
        drive(
            dispatcher.dispatch_once,
            lambda: len(answering.received) == 1 and len(hanging.received) == 1,
        )
        assert answering.received[0].at - begun < 2


def test_a_restarted_worker_goes_on_with_the_stored_retry_state(tmp_path: Path) -> None:
    before = started(tmp_path, PROGRESS_WEBHOOK_RETRY_DELAYS="0.5")
    with receiving([500]) as receiver:
        subscription = subscribe(before, receiver.url)
        consume(before, milestone(str(uuid.uuid4())))
        drive(
            Dispatcher(before.engine, before.webhooks).dispatch_once,
            lambda: len(receiver.received) == 1,
        )
        time.sleep(0.1)
        [waiting] = deliveries(before, subscription)
        before.engine.dispose()  # the worker stops between attempts

        after = started(tmp_path, PROGRESS_WEBHOOK_RETRY_DELAYS="0.5")
        [stored] = deliveries(after, subscription)
        assert stored == waiting and stored["status"] == "pending"
        assert [a["status_code"] for a in stored["attempts"]] == [500]
        assert stored["next_attempt_at"] > stored["attempts"][0]["attempted_at"]
        drive(
            Dispatcher(after.engine, after.webhooks).dispatch_once,
            lambda: len(receiver.received) == 2,
        )
        time.sleep(0.2)

    [delivered] = deliveries(after, subscription)
    assert delivered["status"] == "delivered" and len(delivered["attempts"]) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    after.engine.dispose()


def test_a_subscription_failing_for_the_configured_period_is_disabled_with_the_reason(
    tmp_path: Path,
) -> None:
    progress = started(tmp_path, PROGRESS_WEBHOOK_DISABLE_AFTER_SECONDS="0.3")
    with receiving([500] * 100) as receiver:
        subscription, dispatcher = one_milestone_to(progress, receiver.url)
        drive(dispatcher.dispatch_once, lambda: status_of(progress, subscription) == "disabled")
        sent = len(receiver.received)
        consume(progress, milestone(str(uuid.uuid4())))
        time.sleep(0.3)
        dispatcher.dispatch_once()
        assert len(receiver.received) == sent  # nothing more is sent to it

    with read(progress.engine) as conn:
        row = progress.webhooks.found(conn, "clinic-a", subscription["id"])
    assert "no delivery succeeded" in row["disabled_reason"] and row["disabled_at"]
    progress.engine.dispose()


def test_a_reactivated_subscription_gets_what_was_pending_but_not_what_came_while_disabled(
    tmp_path: Path,
) -> None:
    progress = started(tmp_path, PROGRESS_WEBHOOK_DISABLE_AFTER_SECONDS="0.3")
    with receiving([500] * 1000) as receiver:
        subscription, dispatcher = one_milestone_to(progress, receiver.url)
        drive(dispatcher.dispatch_once, lambda: status_of(progress, subscription) == "disabled")
        while_disabled = milestone(str(uuid.uuid4()))
        consume(progress, while_disabled)
        with receiver.lock:
            receiver.statuses.clear()  # the receiver is mended: 200 from now on

        reactivated = run_in_transaction(
            progress.engine,
            lambda c: progress.webhooks.reactivate(c, "clinic-a", subscription["id"]),
        )
        after = milestone(str(uuid.uuid4()))
        consume(progress, after)
        drive(
            dispatcher.dispatch_once,
            lambda: [d["status"] for d in deliveries(progress, subscription)] == ["delivered"] * 2,
        )

    assert reactivated["status"] == "active" and reactivated["disabled_reason"] is None
    delivered = [d["event_id"] for d in deliveries(progress, subscription)]
    assert after.event_id in delivered and while_disabled.event_id not in delivered
    assert receiver.received[-1].headers["webhook-id"] in {
        d["id"] for d in deliveries(progress, subscription)
    }
    progress.engine.dispose()


def test_a_delivery_not_made_within_the_window_fails_and_a_retry_sends_it_again(
    tmp_path: Path,
) -> None:
    progress = started(tmp_path, PROGRESS_WEBHOOK_RETRY_WINDOW_SECONDS="0")
    with receiving([500]) as receiver:
        subscription, dispatcher = one_milestone_to(progress, receiver.url)
        drive(dispatcher.dispatch_once, status_is(progress, subscription, "failed"))
        [failed] = deliveries(progress, subscription)
        run_in_transaction(
            progress.engine,
            lambda c: progress.webhooks.retry(c, "clinic-a", subscription["id"], failed["id"]),
        )
        drive(dispatcher.dispatch_once, status_is(progress, subscription, "delivered"))

    assert [r.headers["webhook-id"] for r in receiver.received] == [failed["id"]] * 2
    progress.engine.dispose()


def test_a_milestone_dated_last_month_but_entered_today_is_delivered(
    progress: Container,
) -> None:
    subscription = subscribe(progress, "http://127.0.0.1:9/hooks")
    backdated = milestone(str(uuid.uuid4()))
    backdated = Envelope(**{**backdated.__dict__, "time": datetime.now(UTC) - timedelta(days=30)})

    consume(progress, backdated)

    assert [d["event_id"] for d in deliveries(progress, subscription)] == [backdated.event_id]


def test_only_events_of_the_subscriptions_tenant_and_kinds_are_recorded(
    progress: Container,
) -> None:
    subscription = subscribe(progress, "http://127.0.0.1:9/hooks", event_types=["alert_raised"])
    other_tenant = subscribe(progress, "http://127.0.0.1:9/hooks", tenant="clinic-b")
    consume(progress, milestone(str(uuid.uuid4())), milestone(str(uuid.uuid4())))
    assert deliveries(progress, subscription) == []
    with read(progress.engine) as conn:
        count = conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar()
        assert count == 0
        assert store.subscription(conn, "clinic-b", other_tenant["id"]) is not None


def test_in_production_a_receiver_that_resolves_to_loopback_is_refused_at_every_delivery(
    tmp_path: Path,
) -> None:
    progress = started(tmp_path, WAYPOINT_ENV="production")
    with receiving() as receiver:
        row = {
            "id": str(uuid.uuid4()),
            "tenant_id": "clinic-a",
            "url": receiver.url.replace("http://127.0.0.1", "https://localhost"),
            "event_types": ["milestone_reached"],
            "status": "active",
            "created_at": datetime.now(UTC) - timedelta(minutes=1),
        }
        row["secret"] = progress.webhooks.wrap(str(row["id"]), "whsec_c2VjcmV0")
        run_in_transaction(progress.engine, lambda c: store.add_subscription(c, row))
        consume(progress, milestone(str(uuid.uuid4())))
        dispatcher = Dispatcher(progress.engine, progress.webhooks)
        drive(dispatcher.dispatch_once, lambda: bool(deliveries(progress, row)[0]["attempts"]))

    assert receiver.received == []
    [attempt] = deliveries(progress, row)[0]["attempts"]
    assert attempt["status_code"] is None and "loopback" in attempt["error"]
    progress.engine.dispose()


def test_metrics_count_attempts_by_outcome_and_the_oldest_undelivered_age(
    progress: Container,
) -> None:
    def counted(outcome: str) -> float:
        value = REGISTRY.get_sample_value("waypoint_webhook_deliveries_total", {"outcome": outcome})
        return value or 0.0

    before = {outcome: counted(outcome) for outcome in ("delivered", "retrying")}
    with receiving([500]) as receiver:
        subscription, dispatcher = one_milestone_to(progress, receiver.url)
        time.sleep(0.3)
        dispatcher.report()
        age = {"subscription": subscription["id"]}
        waited = REGISTRY.get_sample_value("waypoint_webhook_oldest_undelivered_seconds", age)
        assert waited is not None and waited >= 0.3
        drive(dispatcher.dispatch_once, status_is(progress, subscription, "delivered"))
        dispatcher.report()

    assert counted("retrying") == before["retrying"] + 1
    assert counted("delivered") == before["delivered"] + 1
    assert REGISTRY.get_sample_value("waypoint_webhook_oldest_undelivered_seconds", age) == 0
