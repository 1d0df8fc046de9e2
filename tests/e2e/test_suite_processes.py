"""End to end: real gunicorn web processes and real workers, talking through real Kafka."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.journey import GOAL
from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    # 300 concurrent POSTs with one token: a rate limit above that load, not none.
    with own_suite(tmp_path_factory, kafka_bootstrap, "e2e", 3, rate_limit=10000) as running:
        yield running


@pytest.fixture
def headers(token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


def referral(**extra: Any) -> dict[str, Any]:
    return {
        "given_name": "Amara",
        "family_name": "Osei",
        "date_of_birth": "1992-06-30",
        "email": "amara@example.org",
        **extra,
    }


def timeline(suite: Any, client_id: str, headers: dict[str, str]) -> list[str]:
    response = requests.get(
        f"{url_of(suite, 'progress-web')}/v1/clients/{client_id}/timeline",
        headers=headers,
        timeout=5,
    )
    return [e["type"] for e in response.json()["items"]] if response.ok else []


def count_events(suite: Any, service: str) -> int:
    with sqlite3.connect(suite.var_dir / f"{service}.db") as db:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def test_a_referral_and_a_goal_travel_from_http_through_kafka_to_the_timeline(
    suite: Any, headers: dict[str, str]
) -> None:
    referred = requests.post(
        f"{url_of(suite, 'intake-web')}/v1/clients", json=referral(), headers=headers, timeout=5
    )
    assert referred.status_code == 201
    client_id = referred.json()["client_id"]
    wait_until(
        lambda: "journey_started" in timeline(suite, client_id, headers),
        timeout=10,
        what="journey started",
    )

    def propose() -> requests.Response | None:
        response = requests.post(
            f"{url_of(suite, 'goals-web')}/v1/clients/{client_id}/goals",
            json=GOAL,
            headers=headers,
            timeout=5,
        )
        return response if response.status_code == 201 else None

    goal = wait_until(propose, timeout=10, what="goals to accept the goal")
    assert (
        requests.get(
            url_of(suite, "goals-web") + goal.headers["Location"], headers=headers, timeout=5
        ).json()["lifecycle_status"]
        == "proposed"
    )
    types = wait_until(
        lambda: (t := timeline(suite, client_id, headers)) and "goal_proposed" in t and t,
        timeout=10,
        what="goal on the timeline",
    )
    assert types == ["client_referred", "journey_started", "goal_proposed"]


def test_the_same_idempotent_post_through_several_workers_is_stored_once(
    suite: Any, headers: dict[str, str]
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4()), **headers}
    before = count_events(suite, "intake")
    body = referral(external_id=f"ext-{uuid.uuid4()}")

    def post(_: int) -> requests.Response:
        return requests.post(
            f"{url_of(suite, 'intake-web')}/v1/clients",
            json=body,
            headers={**key, "Connection": "close"},
            timeout=10,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(post, range(12)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["client_id"] for r in responses}) == 1
    assert len({r.headers["Location"] for r in responses}) == 1
    assert count_events(suite, "intake") == before + 1
    changed = requests.post(
        f"{url_of(suite, 'intake-web')}/v1/clients",
        json={**body, "given_name": "Someone else"},
        headers=key,
        timeout=5,
    )
    assert changed.status_code == 409  # the key names another request
    assert changed.headers["Content-Type"] == "application/problem+json"


def test_a_burst_of_concurrent_writes_on_sqlite_never_fails_or_reports_a_locked_database(
    suite: Any, headers: dict[str, str]
) -> None:
    def post(i: int) -> tuple[int, str]:
        response = requests.post(
            f"{url_of(suite, 'intake-web')}/v1/clients",
            json=referral(given_name=f"Client {i}"),
            headers=headers,
            timeout=30,
        )
        return response.status_code, response.text

    before = count_events(suite, "intake")
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(post, range(300)))
    assert [s for s, _ in results if s != 201] == []
    assert not any("locked" in text for _, text in results)
    assert count_events(suite, "intake") == before + 300


def test_every_process_answers_health_without_a_token_and_metrics_on_the_web_with_one(
    suite: Any, token: Any
) -> None:
    metrics_token = {"Authorization": f"Bearer {token('operations', 'metrics')}"}
    for name, url in suite.urls().items():
        assert requests.get(f"{url}/health/live", timeout=5).status_code == 200
        assert requests.get(f"{url}/health/ready", timeout=5).status_code == 200
        web = name.endswith("-web")
        assert requests.get(f"{url}/metrics", timeout=5).status_code == (401 if web else 200)
        scraped = requests.get(f"{url}/metrics", headers=metrics_token, timeout=5)
        assert scraped.status_code == 200


def test_the_progress_worker_reports_consumer_lag_per_partition_when_ready(suite: Any) -> None:
    def lag() -> dict[str, int]:
        body = requests.get(f"{url_of(suite, 'progress-worker')}/health/ready", timeout=5).json()
        return body.get("consumer_lag") or {}

    partitions = wait_until(lag, timeout=30, what="the first lag measurement")
    assert any(".waypoint.intake.events[" in name for name in partitions)
    assert all(isinstance(n, int) and n >= 0 for n in partitions.values())


def test_logs_of_the_run_hold_no_stack_trace_of_a_failed_request(suite: Any) -> None:
    logs = "".join(p.read_text(errors="replace") for p in Path(suite.var_dir, "logs").glob("*"))
    assert "unexpected error while handling" not in logs
