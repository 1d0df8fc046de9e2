"""`waypoint-admin`, the operator's commands, against a real broker and real service databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import insert

from waypoint_shared.admin import main
from waypoint_shared.config import DEVELOPMENT_SECRET, KafkaSettings, load_settings
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import consumer_offsets, relay_position
from waypoint_shared.eventstore.store import Append, EventStore, NewEvent
from waypoint_shared.http.auth import TokenVerifier
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.runtime import open_database

ADMIN = str(Path(sys.executable).parent / "waypoint-admin")


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> KafkaSettings:
    for name in ("INTAKE_DATABASE_URL", "GOALS_DATABASE_URL", "PROGRESS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("WAYPOINT_TOPIC_PREFIX", topic_prefix)
    return KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)


def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    return capsys.readouterr().out


def produce(settings: KafkaSettings, topic: str, records: list[dict[str, Any]]) -> None:
    producer = durable_producer(settings)
    try:
        for record in records:
            producer.send(settings.topic_prefix + topic, **record).get(timeout=30)
    finally:
        producer.close(timeout=5)


def read_topic(settings: KafkaSettings, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    name = settings.topic_prefix + topic
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [r for _ in range(6) for b in consumer.poll(timeout_ms=500).values() for r in b]
    finally:
        consumer.close()


@pytest.mark.kafka
def test_topics_creates_every_suite_topic_once(environment, capsys):
    created = admin(capsys, "topics")
    assert created.count(environment.topic_prefix) == 5
    assert admin(capsys, "topics") == "created: nothing, all topics exist\n"


@pytest.mark.kafka
def test_backlog_counts_events_stored_but_not_yet_published_per_service(environment, capsys):
    engine = open_database(load_settings("intake"))
    store = EventStore()

    def refer(conn):
        client = str(uuid.uuid4())
        new = [NewEvent("waypoint.intake.client_referred.v1", 1, {}) for _ in range(3)]
        store.append(conn, [Append("clinic-a", client, client, 0, new, {})])

    run_in_transaction(engine, refer)
    lines = admin(capsys, "backlog").splitlines()
    assert lines[0].split()[:3] == ["intake", "backlog", "3"]
    assert lines[1].startswith("goals") and "no database" in lines[1]
    topic = load_settings("intake").topic
    run_in_transaction(
        engine, lambda c: c.execute(insert(relay_position).values(name=topic, position=2))
    )
    assert admin(capsys, "backlog").splitlines()[0].split()[:3] == ["intake", "backlog", "1"]


@pytest.mark.kafka
def test_lag_shows_what_each_group_has_not_applied_per_partition(environment, capsys):
    admin(capsys, "topics")
    for service in ("goals", "progress"):
        open_database(load_settings(service))
    key = str(uuid.uuid4()).encode()
    produce(environment, "waypoint.intake.events", [{"key": key, "value": b"x"}] * 2)

    def lag_of(group: str) -> dict[str, int]:
        lines = [line.split() for line in admin(capsys, "lag").splitlines()]
        return {topic: int(n) for g, topic, _, n in lines if g == group and "intake" in topic}

    goals_group = load_settings("goals").consumer_group
    [(lagging, records)] = [(t, n) for t, n in lag_of(goals_group).items() if n]
    assert records == 2
    partition = int(lagging.rsplit("[", 1)[1].rstrip("]"))
    offset = {
        "consumer_group": goals_group,
        "topic": environment.topic_prefix + "waypoint.intake.events",
        "partition": partition,
        "next_offset": 2,
    }
    goals = open_database(load_settings("goals"))
    run_in_transaction(goals, lambda c: c.execute(insert(consumer_offsets).values(**offset)))
    assert set(lag_of(goals_group).values()) == {0}


def dead_letter(settings: KafkaSettings, origin: str, key: bytes, value: bytes) -> None:
    headers = [
        ("content-type", b"application/cloudevents+json"),
        ("dlq.topic", origin.encode()),
        ("dlq.partition", b"1"),
        ("dlq.offset", b"7"),
        ("dlq.error", b"handler failed: boom"),
    ]
    produce(settings, "waypoint.goals.dlq", [{"key": key, "value": value, "headers": headers}])


@pytest.mark.kafka
def test_dead_letters_are_listed_with_their_origin_and_redriven_back_to_it(environment, capsys):
    admin(capsys, "topics")
    origin = environment.topic_prefix + "waypoint.intake.events"
    key, value = str(uuid.uuid4()).encode(), b'{"specversion": "1.0"}'
    dead_letter(environment, origin, key, value)

    listed = admin(capsys, "dlq", "list", "goals")
    assert f"from {origin}[1]@7  handler failed: boom" in listed
    assert "1 dead-lettered record(s)" in listed
    assert admin(capsys, "dlq", "redrive", "goals", "--all").startswith("re-drove 1 record(s)")
    [again] = read_topic(environment, "waypoint.intake.events")
    headers = dict(again.headers)
    assert (again.key, again.value) == (key, value)
    assert headers["content-type"] == b"application/cloudevents+json"
    assert "dlq.topic" not in headers and headers["dlq.redriven"].startswith(b"t")


@pytest.mark.kafka
def test_redrive_refuses_a_record_whose_origin_is_not_a_suite_topic(environment, capsys):
    admin(capsys, "topics")
    dead_letter(environment, "somebody.elses.topic", b"k", b"v")
    with pytest.raises(SystemExit, match="refused"):
        admin(capsys, "dlq", "redrive", "goals", "--all")


@pytest.mark.kafka
def test_rebuild_runs_the_progress_rebuild_in_its_own_process(environment, capsys):
    admin(capsys, "topics")
    done = subprocess.run(
        [ADMIN, "rebuild", "progress"], env=dict(os.environ), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "timeline rebuilt: 0 events applied" in done.stdout


def test_token_mints_a_development_token_with_the_scopes_asked_for():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYPOINT_JWT")}
    command = [ADMIN, "token", "--tenant", "clinic-b", "--scope", "progress:read"]
    minted = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    caller = TokenVerifier(DEVELOPMENT_SECRET).verify(minted.stdout.strip())
    assert (caller.tenant, caller.scopes) == ("clinic-b", frozenset({"progress:read"}))


@pytest.fixture
def intake_url(tmp_path, monkeypatch) -> Iterator[str]:
    """Intake's real app on a free port (werkzeug's server in a thread)."""
    from werkzeug.serving import make_server

    from waypoint_intake.entrypoints.app import create_app

    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("WAYPOINT_JWT_SECRET", raising=False)
    monkeypatch.delenv("WAYPOINT_ADMIN_TOKEN", raising=False)
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_erase_erases_the_client_through_intakes_api_with_an_admin_token_of_the_tenant(
    intake_url, capsys
):
    from waypoint_shared.http.auth import mint_token

    headers = {
        "Authorization": "Bearer " + mint_token(DEVELOPMENT_SECRET, "p", "clinic-a"),
        "Content-Type": "application/json",
    }
    referral = {"given_name": "Ada", "family_name": "Byrne", "date_of_birth": "1990-01-01"}
    request = urllib.request.Request(
        f"{intake_url}/v1/clients",
        data=json.dumps(referral).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        client_id = json.loads(response.read())["client_id"]
    answer = admin(
        capsys,
        "erase",
        client_id,
        "--tenant",
        "clinic-a",
        "--reason",
        "asked",
        "--by",
        "admin-7",
        "--url",
        intake_url,
    )
    assert answer.startswith("200")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(
            urllib.request.Request(f"{intake_url}/v1/clients/{client_id}", headers=headers)
        )
    assert gone.value.code == 410
