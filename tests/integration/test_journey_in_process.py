"""Intake → Kafka → goals and progress, in one process with real SQLite files and a real broker.

The worker loops run in threads here; tests/e2e runs the same path as real gunicorn processes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from waypoint_devkit.waiting import running, wait_until
from waypoint_goals.bootstrap import bootstrap as goals_bootstrap
from waypoint_goals.entrypoints.app import create_app as goals_app
from waypoint_intake.bootstrap import bootstrap as intake_bootstrap
from waypoint_intake.entrypoints.app import create_app as intake_app
from waypoint_progress.bootstrap import bootstrap as progress_bootstrap
from waypoint_progress.entrypoints.app import create_app as progress_app
from waypoint_shared.config import KafkaSettings, load_settings
from waypoint_shared.messaging.worker import Loop
from waypoint_shared.runtime import consumer_loop, relay_loop

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
FAST_GROUP = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, kafka_environment: dict[str, str]
) -> dict[str, str]:
    for key, value in kafka_environment.items():
        monkeypatch.setenv(key, value)
    return kafka_environment


def worker_loops() -> list[Loop]:
    intake = intake_bootstrap(load_settings("intake"))
    goals = goals_bootstrap(load_settings("goals"))
    progress = progress_bootstrap(load_settings("progress"))
    topics = [progress.settings.topic_of(s) for s in ("intake", "goals", "progress")]
    return [
        relay_loop(intake.settings, intake.engine, intake.store),
        relay_loop(goals.settings, goals.engine, goals.store),
        relay_loop(progress.settings, progress.engine, progress.store),
        consumer_loop(
            goals.settings,
            goals.engine,
            [goals.settings.topic_of("intake")],
            _eligibility_handle(),
            **FAST_GROUP,
        ),
        consumer_loop(
            progress.settings, progress.engine, topics, progress.projector.handle, **FAST_GROUP
        ),
    ]


def _eligibility_handle() -> Callable[..., None]:
    from waypoint_goals.service_layer import projector

    return projector.handle


REFERRAL = {
    "given_name": "Amara",
    "family_name": "Osei",
    "date_of_birth": "1992-06-30",
    "email": "amara@example.org",
}
GOAL = {
    "title": "Sleep through the night",
    "modality": "cbt",
    "priority": "high",
    "proposed_by": {"role": "client", "id": "amara"},
}


def timeline_types(client: FlaskClient, client_id: str, headers: dict[str, str]) -> list[str]:
    response = client.get(f"/v1/clients/{client_id}/timeline", headers=headers)
    return [e["type"] for e in response.json["items"]] if response.status_code == 200 else []


def propose_when_known(goals: FlaskClient, client_id: str, headers: dict[str, str]) -> Any:
    def attempt() -> Any:
        response = goals.post(f"/v1/clients/{client_id}/goals", json=GOAL, headers=headers)
        return response if response.status_code == 201 else None

    return wait_until(attempt, what="goals to know the client")


def test_a_referral_reaches_the_timeline_and_a_goal_follows_it(
    environment: dict[str, str], token: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    intake, goals, progress = (
        intake_app().test_client(),
        goals_app().test_client(),
        progress_app().test_client(),
    )
    with running(worker_loops()):
        referred = intake.post("/v1/clients", json=REFERRAL, headers=headers)
        client_id = referred.json["client_id"]
        wait_until(
            lambda: "journey_started" in timeline_types(progress, client_id, headers),
            what="journey started on the timeline",
        )
        propose_when_known(goals, client_id, headers)
        types = wait_until(
            lambda: (
                (t := timeline_types(progress, client_id, headers)) and "goal_proposed" in t and t
            ),
            what="the goal on the timeline",
        )
    assert types == ["client_referred", "journey_started", "goal_proposed"]


def test_commands_are_accepted_while_kafka_is_down_and_reach_the_timeline_after_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_kafka: Any, token: Callable[..., str]
) -> None:
    settings = KafkaSettings(bootstrap_servers=own_kafka.bootstrap)
    from waypoint_shared.messaging.topics import ensure_topics

    ensure_topics(settings)
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_kafka.bootstrap)
    headers = {"Authorization": f"Bearer {token()}"}
    intake, progress = intake_app().test_client(), progress_app().test_client()
    with running(worker_loops()):
        own_kafka.stop()
        referred = intake.post("/v1/clients", json=REFERRAL, headers=headers)
        assert referred.status_code == 201
        client_id = referred.json["client_id"]
        own_kafka.start()
        wait_until(
            lambda: "journey_started" in timeline_types(progress, client_id, headers),
            timeout=60,
            what="the referral to reach the timeline after the restart",
        )
