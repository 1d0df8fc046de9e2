"""Fault 4: poison records (junk bytes, wrong JSON, deep nesting, huge strings, a CloudEvent with
one attribute broken) produced into each event topic while real referrals flow. Every one lands
in the dead-letter topic of each service that consumes that topic, with its origin in headers;
none reaches the timeline; no process dies; and every acknowledged referral is still projected."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer

from waypoint_devkit.faults import (
    Tally,
    all_alive,
    hostile_values,
    query,
    referral_record,
    scale,
    timeline_entries,
)
from waypoint_devkit.suite import url_of

from .conftest import Api, Referrals, settle

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.timeout(180 + 60 * scale())]
CONSUMERS = {"intake": ("goals", "progress"), "goals": ("progress",), "progress": ("progress",)}
Origin = tuple[str, int, int]  # topic, partition, offset


def service_of(origin: Origin) -> str:
    return origin[0].rsplit(".", 2)[-2]  # "<prefix>waypoint.<service>.events"


def in_flight(suite: Any, api: Api, tally: Tally) -> bool:
    """Referrals acknowledged but not yet on the timeline: the consumers have work."""
    return (
        len(tally.acked - set(timeline_entries(suite.var_dir, api.tenant, "client_referred"))) > 0
    )


def inject(suite: Any, api: Api, tally: Tally, poison_client: str) -> dict[Origin, bytes]:
    """Produce poison into every event topic, a record at a time, while the load runs."""
    producer = KafkaProducer(
        bootstrap_servers=suite.kafka.bootstrap_servers, max_request_size=2**21
    )
    rng, produced = random.Random(4), {}
    valid = referral_record(poison_client, api.tenant)
    try:
        for _ in range(scale()):
            for service in CONSUMERS:
                topic = f"{suite.kafka.topic_prefix}waypoint.{service}.events"
                for value in hostile_values(rng, valid):
                    busy = in_flight(suite, api, tally)
                    sent = producer.send(topic, key=poison_client.encode(), value=value).get(10)
                    produced[(sent.topic, sent.partition, sent.offset)] = value
                    tally.fault(in_flight=busy)
                    time.sleep(0.02)
    finally:
        producer.close()
    return produced


def dead_letters(
    suite: Any, service: str, expected: int, timeout: float = 90
) -> dict[Origin, bytes]:
    """Everything in a service's dead-letter topic, by the origin its headers name."""
    topic = f"{suite.kafka.topic_prefix}waypoint.{service}.dlq"
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=suite.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
        fetch_max_bytes=2**22,
    )
    found: dict[Origin, bytes] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for record in consumer:
                headers = {k: v.decode() for k, v in record.headers}
                origin = (
                    headers["dlq.topic"],
                    int(headers["dlq.partition"]),
                    int(headers["dlq.offset"]),
                )
                found[origin] = record.value
    finally:
        consumer.close()
    return found


def test_poison_in_every_topic_is_dead_lettered_and_never_reaches_the_timeline(suite: Any) -> None:
    api, tally = Api(suite), Tally("poison records")
    poison_client = str(uuid.uuid4())
    with Referrals(api, tally, threads=3):
        time.sleep(0.5)
        produced = inject(suite, api, tally, poison_client)
        time.sleep(0.5)
    settle(suite, api, tally)
    expected = Counter(c for origin in produced for c in CONSUMERS[service_of(origin)])
    lettered = {c: dead_letters(suite, c, expected[c]) for c in ("goals", "progress")}
    tally.report(
        poison=len(produced),
        goals_dlq=len(lettered["goals"]),
        progress_dlq=len(lettered["progress"]),
    )

    for origin, value in produced.items():
        for consumer in CONSUMERS[service_of(origin)]:
            assert lettered[consumer].get(origin) == value, f"{consumer} kept no {origin}"
    progress_db = suite.var_dir / "progress.db"
    rows = query(progress_db, "SELECT count(*) FROM timelines WHERE client_id = ?", poison_client)
    assert rows == [(0,)]
    assert all_alive(suite) == {}
    for name in ("goals-worker", "progress-worker"):
        assert requests.get(f"{url_of(suite, name)}/health/ready", timeout=5).status_code == 200
    tally.assert_sound(at_least=len(produced) // 2)
