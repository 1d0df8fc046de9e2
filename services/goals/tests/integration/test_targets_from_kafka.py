"""A goal's target met by a session progress published: the session_recorded CloudEvent on
progress's topic, through a real broker, delivered twice, records goal_target_met once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kafka import KafkaProducer
from sqlalchemy import Connection

from waypoint_devkit.apps import envelope as devkit_envelope
from waypoint_devkit.consuming import consumer_runner
from waypoint_devkit.waiting import wait_until
from waypoint_goals.bootstrap import Container, bootstrap
from waypoint_goals.entrypoints.common import goal_view
from waypoint_goals.service_layer import handlers, projector
from waypoint_goals.service_layer.queries import load_goal
from waypoint_shared.config import KafkaSettings, load_settings
from waypoint_shared.db.database import read, run_in_transaction

from .published import published

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]
THERAPIST, CLIENT = {"role": "therapist", "id": "t-7"}, {"role": "client", "id": "amara"}
PHQ9_AT_OR_BELOW_9 = {"instrument": "PHQ-9", "score": 9.0, "direction": "at_or_below"}
METADATA = {"actor": {"system": "ehr", "person": None}, "request_id": "r-1"}


@pytest.fixture
def goals(kafka_environment: dict[str, str]) -> Container:
    return bootstrap(load_settings("goals", kafka_environment))


def agreed_goal(goals: Container, client_id: str, target: dict[str, object]) -> str:
    """A goal with the target, agreed on 1 Nov 2025, for a client intake referred."""
    referred = devkit_envelope("intake", "client_referred", client_id)
    run_in_transaction(goals.engine, lambda conn: projector.handle(conn, referred))
    details = {
        "title": "Feel like myself",
        "modality": "cbt",
        "priority": "high",
        "proposed_by": THERAPIST,
        "target": target,
    }

    def propose_and_agree(conn: Connection) -> str:
        goal = handlers.propose_goal(goals.goals, conn, "clinic-a", client_id, details, METADATA)
        command = handlers.Command("clinic-a", goal.goal_id, None, METADATA)
        handlers.agree_goal(goals.goals, conn, command, CLIENT, "2025-11-01")
        return goal.goal_id

    return str(run_in_transaction(goals.engine, propose_and_agree))


def session_recorded(client_id: str, version: int, day: str, **totals: float) -> bytes:
    """A session_recorded event as progress's relay publishes it, the reflection sealed."""
    measures: list[dict[str, Any]] = [
        {"instrument": name, "items": [], "total": total, "band": None}
        for name, total in totals.items()
    ]
    data = {
        "session_id": str(uuid.uuid4()),
        "date": day,
        "attended": True,
        "measures": measures,
        "reflection": "slept well",
    }
    return published("progress", "session_recorded", client_id, version, data, {"reflection"})


def test_a_session_meeting_the_target_on_progresss_topic_shows_target_met_at_on_the_goal(
    goals: Container, kafka_settings: KafkaSettings
) -> None:
    client_id = str(uuid.uuid4())
    goal_id = agreed_goal(goals, client_id, PHQ9_AT_OR_BELOW_9)
    met = session_recorded(client_id, 2, "2025-11-12", **{"PHQ-9": 9, "GAD-7": 6})
    values = [
        session_recorded(client_id, 1, "2025-11-05", **{"PHQ-9": 10}),
        met,
        met,  # published twice by a relay that crashed before storing its position
        session_recorded(client_id, 3, "2025-11-19", **{"PHQ-9": 4}),
    ]
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    for value in values:
        producer.send(goals.settings.topic_of("progress"), key=client_id.encode(), value=value)
    producer.flush()
    producer.close()
    runner = consumer_runner(
        goals.settings,
        goals.engine,
        ["intake", "progress"],
        projector.handler(goals.goals),
        projector.knows,
    )

    def goal_after_the_last_session() -> object:
        runner.poll_once()
        return runner.applied_total >= 3

    try:
        wait_until(goal_after_the_last_session, timeout=60, what="the three sessions applied")
    finally:
        runner.close()
    with read(goals.engine) as conn:
        goal = load_goal(goals.goals, conn, "clinic-a", goal_id)
        stored = goals.goals.repository.stored(conn, "clinic-a", goal_id)
    assert runner.dead_lettered_total == 0
    view = goal_view(goal)
    assert (view["target_met_at"], view["target_met_score"]) == ("2025-11-12", 9.0)
    assert [r.type for r in stored].count("waypoint.goals.goal_target_met.v1") == 1
