"""The eligibility view fed from a real broker: intake's CloudEvents, delivered twice, in order."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer

from waypoint_devkit.consuming import consumer_runner
from waypoint_devkit.waiting import wait_until
from waypoint_goals.adapters import eligibility
from waypoint_goals.bootstrap import Container, bootstrap
from waypoint_goals.domain.errors import ClientNotEligible
from waypoint_goals.service_layer import projector
from waypoint_goals.service_layer.handlers import ensure_goal_work_may_continue
from waypoint_shared.config import KafkaSettings, load_settings
from waypoint_shared.db.database import read
from waypoint_shared.messaging.consumer import ConsumerRunner

from .published import published

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


@pytest.fixture
def goals(kafka_environment: dict[str, str]) -> Container:
    return bootstrap(load_settings("goals", kafka_environment))


def runner_for(goals: Container) -> ConsumerRunner:
    return consumer_runner(
        goals.settings, goals.engine, ["intake"], projector.handle, projector.knows
    )


def intake_event(client_id: str, version: int, name: str, **data: object) -> bytes:
    """An intake event as intake's relay publishes it, personal fields sealed."""
    personal = {"given_name", "family_name", "date_of_birth", "signed_by", "reason", "revoked_by"}
    return published("intake", name, client_id, version, data, personal)


def test_a_referral_then_a_revoked_treatment_consent_reach_the_view_once(
    goals: Container, kafka_settings: KafkaSettings
) -> None:
    client_id = str(uuid.uuid4())
    treatment = {"kind": "treatment", "document_version": "v3", "signed_at": "2025-01-02"}
    referred = intake_event(
        client_id,
        1,
        "client_referred",
        given_name="Amara",
        family_name="Osei",
        date_of_birth="1992-06-30",
    )
    values = [
        referred,
        referred,  # published twice by a relay that crashed before storing its position
        intake_event(client_id, 2, "consent_granted", **treatment, signed_by="Amara"),
        intake_event(client_id, 3, "consent_revoked", kind="treatment", reason="x", revoked_by="A"),
    ]
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    for value in values:
        producer.send(goals.settings.topic_of("intake"), key=client_id.encode(), value=value)
    producer.flush()
    producer.close()

    def known() -> object:
        runner.poll_once()
        with read(goals.engine) as conn:
            found = eligibility.find(conn, "clinic-a", client_id)
        return found and found.treatment_consent == "revoked" and found

    runner = runner_for(goals)
    try:
        wait_until(known, timeout=60, what="the revoked consent in the view")
    finally:
        runner.close()
    assert runner.dead_lettered_total == 0
    with read(goals.engine) as conn, pytest.raises(ClientNotEligible) as refused:
        ensure_goal_work_may_continue(conn, "clinic-a", client_id)
    assert refused.value.reason == "treatment_consent_revoked"
