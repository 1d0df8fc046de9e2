"""Signed webhooks end to end: receivers on 127.0.0.1 subscribed to progress, a journey through the
real suite (gunicorn, workers, the webhook delivery worker, Kafka), every delivery verified with
the `standardwebhooks` package. Each milestone arrives (at least once, deduplicable by
`webhook-id`); a receiver answering 500 three times then 200 gets the delivery on the fourth
attempt with the same id, on the development schedule (about 1 s, 5 s, 30 s); a receiver that
hangs does not delay another subscription."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from waypoint_devkit.journey import GAD7_6, GOAL, PHQ9_8
from waypoint_devkit.suite import running_suite, url_of
from waypoint_devkit.waiting import wait_until
from waypoint_devkit.webhook_receiver import Receiver, receiving
from waypoint_shared.config import KafkaSettings

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(300)]
HOOKS = "/v1/webhook-subscriptions"
THERAPIST = {"role": "therapist", "id": "t-1"}
CLIENT = {"role": "client", "id": "c-1"}
PERSONAL = ("Amara", "Osei", "1992-06-30", "amara@example.org", "Walk every morning", "slept")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"hooks{uuid.uuid4().hex[:8]}."
    )
    # One attempt may take 3 s here (10 s by default), so the hanging receiver is retried soon.
    extra = {"PROGRESS_WEBHOOK_TIMEOUT_SECONDS": "3"}
    with running_suite(tmp_path_factory.mktemp("hooks"), kafka, 2, extra) as running:
        yield running


class Api:
    def __init__(self, suite: Any, token: str):
        self.suite, self.headers = suite, {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, expect: int = 200, **kw: Any) -> Any:
        url = url_of(self.suite, f"{service}-web") + path
        response = requests.request(method, url, headers=self.headers, timeout=10, **kw)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def once_known(self, service: str, path: str, body: dict[str, Any]) -> Any:
        """POST once the service has the referral (409 "not known yet" until then)."""

        def posted() -> Any:
            url = url_of(self.suite, f"{service}-web") + path
            response = requests.post(url, headers=self.headers, json=body, timeout=10)
            assert response.status_code in (201, 409), response.text
            return response.json() if response.status_code == 201 else None

        return wait_until(posted, timeout=30, what=f"{service} to know the client")

    def milestone_ids(self, client_id: str) -> set[str]:
        path = f"/v1/clients/{client_id}/timeline?kind=milestone&limit=200"
        return {m["id"] for m in self.call("GET", "progress", path)["items"]}


def journey(api: Api) -> str:
    """Referral, a goal agreed with a step done, and a session with measures."""
    client_id = api.call(
        "POST",
        "intake",
        "/v1/clients",
        201,
        json={
            "given_name": "Amara",
            "family_name": "Osei",
            "date_of_birth": "1992-06-30",
            "email": "amara@example.org",
        },
    )["client_id"]
    goal_id = api.once_known("goals", f"/v1/clients/{client_id}/goals", GOAL)["goal_id"]
    api.call("POST", "goals", f"/v1/goals/{goal_id}/agreement", json={"agreed_by": CLIENT})
    step = api.call(
        "POST", "goals", f"/v1/goals/{goal_id}/steps", 201, json={"description": "Walk"}
    )
    api.call("POST", "goals", f"/v1/goals/{goal_id}/steps/{step['step_id']}/completion", json={})
    session = {
        "date": date.today().isoformat(),
        "attended": True,
        "reflection": "I slept better",
        "measures": [
            {"instrument": "PHQ-9", "items": PHQ9_8},
            {"instrument": "GAD-7", "items": GAD7_6},
        ],
    }
    api.once_known("progress", f"/v1/clients/{client_id}/sessions", session)
    return client_id


def subscribe(api: Api, receiver: Receiver, *event_types: str) -> dict[str, Any]:
    body = {"url": receiver.url, "event_types": list(event_types), "description": "e2e"}
    created: dict[str, Any] = api.call("POST", "progress", HOOKS, 201, json=body)
    return created


def verified(receiver: Receiver, secret: str) -> list[tuple[str, dict[str, Any]]]:
    """Every request the receiver got, verified: (webhook-id, payload)."""
    hook = Webhook(secret)
    return [(r.headers["webhook-id"], hook.verify(r.body, r.headers)) for r in receiver.received]


def arrived(receiver: Receiver, secret: str, kind: str) -> dict[str, dict[str, Any]]:
    """The payloads of one kind by webhook-id: duplicates collapse, as a receiver dedupes."""
    return {i: body for i, body in verified(receiver, secret) if body["type"] == kind}


def test_a_journey_is_delivered_signed_retried_with_the_same_id_and_isolated(
    suite: Any, token: Callable[..., str]
) -> None:
    api = Api(suite, token())
    with ExitStack() as receivers:
        every = receivers.enter_context(receiving())
        flaky = receivers.enter_context(receiving([500, 500, 500]))
        hanging = receivers.enter_context(receiving(hang=True))
        beside = receivers.enter_context(receiving())
        kinds = ("milestone_reached", "alert_raised", "session_recorded")
        to_every = subscribe(api, every, *kinds)
        to_flaky = subscribe(api, flaky, "session_recorded")
        subscribe(api, hanging, "milestone_reached")
        to_beside = subscribe(api, beside, "milestone_reached")
        begun = time.monotonic()

        client_id = journey(api)
        milestones = wait_until(
            lambda: (ids := api.milestone_ids(client_id)) and len(ids) >= 3 and ids,
            timeout=30,
            what="the journey's milestones",
        )

        def milestones_arrived(receiver: Receiver, secret: str) -> bool:
            got = arrived(receiver, secret, "milestone_reached").values()
            return {b["data"]["milestone_id"] for b in got} >= milestones

        wait_until(
            lambda: milestones_arrived(every, to_every["secret"]), 30, what="every milestone"
        )
        # The hanging receiver holds only its own subscription: the one beside it has them all
        # while the hanging one has not answered a single request.
        wait_until(
            lambda: milestones_arrived(beside, to_beside["secret"]), 15, what="milestones beside"
        )
        assert hanging.received, "the hanging receiver was called"
        assert beside.received[0].at - begun < 20
        wait_until(lambda: len(flaky.received) >= 4, timeout=90, what="the fourth attempt")
        time.sleep(1)
        hooked = api.call("GET", "progress", f"{HOOKS}/{to_flaky['id']}/deliveries")
        hanging_seen = len(hanging.received)

    sessions = arrived(every, to_every["secret"], "session_recorded")
    [session] = sessions.values()
    assert session["data"]["client_id"] == client_id
    assert {m["instrument"]: m["total"] for m in session["data"]["measures"]} == {
        "PHQ-9": 8,
        "GAD-7": 6,
    }
    for receiver, secret in ((every, to_every["secret"]), (beside, to_beside["secret"])):
        for _, body in verified(receiver, secret):
            text = json.dumps(body)
            assert not [p for p in PERSONAL if p in text], text

    ids = [r.headers["webhook-id"] for r in flaky.received]
    assert len(flaky.received) == 4 and len(set(ids)) == 1
    verified(flaky, to_flaky["secret"])  # every attempt signed afresh, each verifies
    [delivery] = hooked["items"]
    assert delivery["id"] == ids[0] and delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert hanging_seen >= 1
