"""Attack: anyone who can reach Kafka writes a well-formed `client_erased` CloudEvent for a client
of clinic A — on the goals topic, on intake's topic claiming goals as its source, or for a tenant
progress never heard of. Progress and goals dead-letter each one, naming the check it failed, and
the client keeps their timeline and can still get goals."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer

from waypoint_devkit.faults import erasure_record
from waypoint_devkit.waiting import wait_until

from .conftest import refer, url

pytestmark = [pytest.mark.timeout(240)]

FORGERIES = {
    # name: (topic's service, source claimed, tenant written, the check expected to fail)
    "intake's erasure on the goals topic": ("goals", "intake", "clinic-a", "origin check"),
    "on intake's topic with goals as source": ("intake", "goals", "clinic-a", "origin check"),
    "for a tenant progress never heard of": (
        "intake",
        "intake",
        "clinic-never-seen",
        "known-client check",
    ),
}


def produce(suite: Any, topic_service: str, client_id: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=suite.kafka.bootstrap_servers)
    try:
        topic = f"{suite.kafka.topic_prefix}waypoint.{topic_service}.events"
        producer.send(topic, key=client_id.encode(), value=value).get(timeout=10)
    finally:
        producer.close()


def dead_letter_of(suite: Any, service: str, value: bytes, timeout: float = 60) -> dict[str, str]:
    """The headers of the record in the service's dead-letter topic that carries this value."""
    consumer = KafkaConsumer(
        f"{suite.kafka.topic_prefix}waypoint.{service}.dlq",
        bootstrap_servers=suite.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for record in consumer:
                if record.value == value:
                    return {k: v.decode() for k, v in record.headers}
    finally:
        consumer.close()
    raise AssertionError(f"the forged record never reached {service}'s dead-letter topic")


def propose_goal(suite: Any, headers: dict[str, str], client_id: str) -> requests.Response:
    body = {
        "title": "Sleep through the night",
        "modality": "cbt",
        "priority": "high",
        "proposed_by": {"role": "client", "id": "amara"},
    }
    return requests.post(
        url(suite, "goals", f"/v1/clients/{client_id}/goals"), json=body, headers=headers
    )


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_erasure_is_dead_lettered_and_the_client_keeps_their_timeline(
    suite: Any, clinic_a: dict[str, str], forgery: str
) -> None:
    topic_service, source, tenant, check = FORGERIES[forgery]
    client_id = refer(suite, clinic_a)
    forged = erasure_record(client_id, tenant, source=source)

    produce(suite, topic_service, client_id, forged)

    consumers = ["progress"] + (["goals"] if topic_service == "intake" else [])
    for service in consumers:
        letter = dead_letter_of(suite, service, forged)
        assert letter["dlq.error"].startswith(f"{check} failed"), letter["dlq.error"]
        assert letter["dlq.topic"].endswith(f"waypoint.{topic_service}.events")
    timeline = requests.get(
        url(suite, "progress", f"/v1/clients/{client_id}/timeline"), headers=clinic_a
    )
    assert timeline.status_code == 200, timeline.text
    assert "journey_started" in [entry["type"] for entry in timeline.json()["items"]]
    wait_until(  # goals may answer 409 until it has the referral; erased, it would answer 410
        lambda: propose_goal(suite, clinic_a, client_id).status_code == 201,
        timeout=10,
        what="goals to accept a goal for the client",
    )
