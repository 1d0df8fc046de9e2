"""Webhook deliveries on PostgreSQL too: an event consumed twice is one delivery, a client's
deliveries keep their order while the first is retried with the same id, and a restarted worker
goes on with the stored retry state."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from waypoint_devkit.webhook_receiver import drive, milestone, receiving
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.service_layer.webhook_delivery import Dispatcher
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import read, run_in_transaction

pytestmark = [pytest.mark.postgres]


def started(url: str) -> Container:
    settings = {
        "PROGRESS_DATABASE_URL": url,
        "WAYPOINT_ENV": "development",
        "PROGRESS_WEBHOOK_RETRY_DELAYS": "0.3",
    }
    return bootstrap(load_settings("progress", settings))


def deliveries(progress: Container, subscription_id: str) -> list[dict[str, Any]]:
    with read(progress.engine) as conn:
        page = progress.webhooks.deliveries(conn, "clinic-a", subscription_id, None, 100)
    return list(page["items"])


def test_deliveries_are_recorded_once_kept_in_order_and_survive_a_restart(
    postgres_url: str,
) -> None:
    before = started(postgres_url)
    client = str(uuid.uuid4())
    with receiving([500]) as receiver:
        body = {"url": receiver.url, "event_types": ["milestone_reached"]}
        subscription = run_in_transaction(
            before.engine, lambda c: before.webhooks.subscribe(c, "clinic-a", body)
        )
        first, second = milestone(client, rule="first_goal"), milestone(client, rule="small_win")
        for batch in ([first], [first, second]):  # the first is consumed twice
            with before.engine.begin() as conn:
                before.webhooks.record(conn, batch)
        assert len(deliveries(before, subscription["id"])) == 2

        drive(
            Dispatcher(before.engine, before.webhooks).dispatch_once,
            lambda: len(receiver.received) == 1,
        )
        time.sleep(0.1)
        before.engine.dispose()
        after = started(postgres_url)
        waiting = deliveries(after, subscription["id"])
        assert [d["status"] for d in waiting] == ["pending", "pending"]
        assert [len(d["attempts"]) for d in waiting] == [1, 0]
        drive(
            Dispatcher(after.engine, after.webhooks).dispatch_once,
            lambda: len(receiver.received) == 3,
        )
        time.sleep(0.2)

    hook = Webhook(subscription["secret"])
    sent = [(r.headers["webhook-id"], hook.verify(r.body, r.headers)) for r in receiver.received]
    assert [body["data"]["rule"] for _, body in sent] == ["first_goal", "first_goal", "small_win"]
    assert sent[0][0] == sent[1][0] != sent[2][0]
    assert [d["status"] for d in deliveries(after, subscription["id"])] == ["delivered"] * 2
    after.engine.dispose()
