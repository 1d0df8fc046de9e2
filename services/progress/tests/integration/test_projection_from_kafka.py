"""The timeline projector fed from a real broker: duplicates, replays and poison records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import delete, func, select

from waypoint_devkit.waiting import wait_until
from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import Container
from waypoint_shared.config import KafkaSettings
from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.tables import consumer_offsets, events
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.envelope import encode

RunnerFor = Callable[[Container], ConsumerRunner]
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def referral(client_id: str) -> RecordedEvent:
    key = AESGCM.generate_key(bit_length=256)
    place = Place("intake", "clinic-a", client_id, "waypoint.intake.client_referred.v1", "")
    names = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}
    sealed = seal_fields(key, place, names, names)
    return RecordedEvent(
        1,
        str(uuid.uuid4()),
        "clinic-a",
        client_id,
        1,
        client_id,
        "waypoint.intake.client_referred.v1",
        1,
        datetime.now(UTC),
        {"client_id": client_id, **sealed},
        {"correlation_id": "req-1"},
    )


def produce(settings: KafkaSettings, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    for key, value in values:
        producer.send(topic, key=key, value=value).get(timeout=10)
    producer.close()


def entries(progress: Container, client_id: str) -> list[tuple[str, str]]:
    with read(progress.engine) as conn:
        query = select(timelines.c.entries).where(timelines.c.client_id == client_id)
        stored = conn.execute(query).scalar_one_or_none() or []
    return [(e["kind"], e["type"]) for e in stored]


def drain(runner: ConsumerRunner, until: Callable[[], bool]) -> None:
    wait_until(lambda: runner.poll_once() >= 0 and until(), timeout=60, what="the projection")


def test_the_same_cloudevent_at_two_offsets_and_a_full_replay_give_one_entry(
    progress: Container, kafka_settings: KafkaSettings, runner_for: RunnerFor
) -> None:
    client_id = str(uuid.uuid4())
    key, value, _ = encode(referral(client_id), "intake")
    produce(kafka_settings, progress.settings.topic_of("intake"), [(key, value), (key, value)])
    runner = runner_for(progress)
    drain(runner, lambda: sum(runner.stored_offsets().values()) >= 2)
    runner.close()
    run_in_transaction(progress.engine, lambda c: c.execute(delete(consumer_offsets)))
    replay = runner_for(progress)
    drain(replay, lambda: sum(replay.stored_offsets().values()) >= 2)
    replay.close()
    assert entries(progress, client_id) == [
        ("event", "client_referred"),
        ("milestone", "journey_started"),
    ]
    with read(progress.engine) as conn:
        milestones = conn.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.type == "waypoint.progress.milestone_reached.v1")
        ).scalar_one()
    assert milestones == 1


def test_poison_records_of_every_kind_go_to_the_dead_letter_topic_with_their_origin(
    progress: Container, kafka_settings: KafkaSettings, runner_for: RunnerFor
) -> None:
    client_id = str(uuid.uuid4())
    key, good, _ = encode(referral(client_id), "intake")
    unsealed, invalid = json.loads(good), json.loads(good)
    unsealed["data"]["given_name"] = "Amara"
    invalid["data"]["client_id"] = "not-a-uuid"
    poison = {
        "not JSON": b"\x00\xffnot json",
        "not a CloudEvent": b'{"specversion": "1.0"}',
        "nested too deep": b"[" * 10_000,
        "unknown type": good.replace(b"client_referred", b"client_vanished"),
        "unknown version": good.replace(b"client_referred.v1", b"client_referred.v9"),
        "failing validation": json.dumps(invalid).encode(),
        "personal field in the clear": json.dumps(unsealed).encode(),
    }
    topic = progress.settings.topic_of("intake")
    produce(kafka_settings, topic, [(key, p) for p in poison.values()] + [(key, good)])
    runner = runner_for(progress)
    drain(runner, lambda: len(entries(progress, client_id)) == 2)
    runner.close()
    assert runner.dead_lettered_total == len(poison)
    letters = dead_letters(progress, kafka_settings, len(poison))
    assert [r.value for r in letters] == list(poison.values())
    partition = dict(letters[0].headers)["dlq.partition"]
    for offset, letter in enumerate(letters):
        origin = dict(letter.headers)
        assert origin["dlq.topic"] == topic.encode()
        assert origin["dlq.partition"] == partition
        assert origin["dlq.offset"] == str(offset).encode()
        assert origin["dlq.error"]
    assert entries(progress, client_id) == [
        ("event", "client_referred"),
        ("milestone", "journey_started"),
    ]


def dead_letters(progress: Container, kafka_settings: KafkaSettings, expected: int) -> list[Any]:
    dead = KafkaConsumer(
        progress.settings.dead_letter_topic,
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    letters = sorted(dead, key=lambda r: r.offset)
    dead.close()
    assert len(letters) == expected
    return letters
