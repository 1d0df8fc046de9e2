"""Hostile records against the consumer side: the decoder refuses them as UndecodableRecord and
nothing else, and a real ConsumerRunner with progress's projector dead-letters every one of them,
keeps applying the good records around them, and never raises.

(shared/tests/unit/test_envelope.py covers hand-made hostile values and random bytes; here
Hypothesis breaks one attribute of a valid CloudEvent at a time, and the records go through Kafka.)
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from waypoint_devkit.faults import hostile_values, query, referral_record
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import KafkaSettings, load_settings
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.envelope import Envelope, UndecodableRecord, decode
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.topics import ensure_topics

VALID = referral_record(str(uuid.uuid4()))
GOOD = json.loads(VALID)
odd_text = st.text(st.characters() | st.sampled_from("\x00\u202e\ufeff\u2028\ud800"), max_size=50)
odd_text = odd_text | st.just("x" * 100_000)
hostile_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=20,
) | st.builds(lambda depth: json.loads("[" * depth + "]" * depth), st.integers(500, 900))


def decoded_or_refused(value: bytes) -> Envelope | None:
    try:
        return decode(value)
    except UndecodableRecord:
        return None


@given(attribute=st.sampled_from(sorted(GOOD)), value=hostile_json)
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_cloudevent_with_any_attribute_replaced_by_hostile_json_is_refused_or_decoded(
    attribute: str, value: Any
) -> None:
    record = json.dumps({**GOOD, attribute: value}).encode("utf-8", "surrogatepass")

    decoded_or_refused(record)  # anything but UndecodableRecord escapes and fails the test


@given(field=st.sampled_from(sorted(GOOD["data"])), value=hostile_json)
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_payload_with_any_field_replaced_by_hostile_json_is_refused_or_decoded(
    field: str, value: Any
) -> None:
    record = {**GOOD, "data": {**GOOD["data"], field: value}}

    decoded_or_refused(json.dumps(record).encode("utf-8", "surrogatepass"))


@pytest.fixture
def projector_engine(tmp_path: Path) -> Iterator[Any]:
    from waypoint_progress.bootstrap import bootstrap

    container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": str(tmp_path)}))
    yield container
    container.engine.dispose()


def mixed_records(rng: random.Random) -> tuple[list[bytes], list[bytes], list[str]]:
    """Hostile records interleaved with valid referrals; returns (all, hostile, good clients)."""
    hostile = hostile_values(rng, VALID) + [rng.randbytes(rng.randint(1, 2048)) for _ in range(10)]
    clients = [str(uuid.uuid4()) for _ in range(10)]
    records = hostile + [referral_record(c) for c in clients]
    rng.shuffle(records)
    return records, hostile, clients


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_a_real_consumer_dead_letters_every_hostile_record_and_applies_the_rest(
    projector_engine: Any, kafka_settings: KafkaSettings
) -> None:
    prefix = kafka_settings.topic_prefix
    topic, dlq, group = f"{prefix}fuzz.waypoint.intake.events", f"{prefix}dlq", f"{prefix}fuzz"
    ensure_topics(kafka_settings, [NewTopic(topic, 2, 1), NewTopic(dlq, 1, 1)])
    records, hostile, clients = mixed_records(random.Random(6))
    total = len(records)
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    for value in records:
        producer.send(topic, key=b"fuzz", value=value)
    producer.flush()
    producer.close()
    runner = ConsumerRunner(
        projector_engine.engine,
        group,
        [topic],
        projector_engine.projector.handle,
        lambda: group_consumer(
            kafka_settings, group, session_timeout_ms=6000, heartbeat_interval_ms=2000
        ),
        lambda: durable_producer(kafka_settings),
        dlq,
        known_client=projector_engine.projector.knows,
    )
    try:
        wait_until(
            lambda: runner.poll_once() >= 0 and sum(runner.stored_offsets().values()) == total,
            timeout=60,
            what="every record tracked",
        )  # poll_once is called directly: an exception here is a crash, not a retried loop
    finally:
        runner.close()

    letters = KafkaConsumer(
        dlq,
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    dead = sorted(r.value for r in letters)
    letters.close()
    assert dead == sorted(hostile)
    database = Path(projector_engine.settings.database_url.removeprefix("sqlite:///"))
    on_timeline = {row[0] for row in query(database, "SELECT client_id FROM timelines")}
    assert on_timeline == set(clients)
