"""Rebuild throughput: events per second the progress service's timeline rebuild
(`python -m waypoint_progress.entrypoints.rebuild`, run as a subprocess) replays from the three
topics ÷ a raw kafka-python consumer that reads the same records from offset 0 and JSON-decodes
them. The rebuild's time is its subprocess's wall clock (start to exit) minus that of a subprocess
that only starts the interpreter and imports the rebuild module. Its memory is its own peak RSS
(ru_maxrss of that one child, from wait4), at N events ÷ at 10,000 events: a rebuild must not
hold the history in memory. Targets: ≥ 5,000 events/s and an RSS ratio ≤ 1.5.

Each client has a journey of 10 events (intake: referred, treatment consent, PHQ-9 screening,
therapist assigned, intake completed; goals: proposed, agreed, step planned, check-in; progress:
a session with a PHQ-9), personal fields sealed with a key progress never holds. Each size gets
its own topics and database. Usage: rebuild_throughput.py [N [SMALL]] (100,000 and 10,000)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, broker, save
from kafka import KafkaConsumer, TopicPartition

from waypoint_progress.bootstrap import bootstrap
from waypoint_shared import catalog
from waypoint_shared.config import SERVICES, KafkaSettings, load_settings, topic_of
from waypoint_shared.crypto.sealing import AESGCM, Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import encode
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.topics import ensure_topics

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SMALL = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
KEY = AESGCM.generate_key(bit_length=256)
START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
REBUILD = "waypoint_progress.entrypoints.rebuild"


def journey(client_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One client's 10 events as (service, event name, plain data), in order."""
    therapist, goal, client = str(uuid.uuid4()), str(uuid.uuid4()), {"role": "client", "id": "c1"}
    phq9 = [2, 2, 2, 2, 2, 2, 2, 1, 0]
    # fmt: off
    return [
        ("intake", "client_referred", dict(
            given_name="Amara", family_name="Osei", date_of_birth="1992-06-30")),
        ("intake", "consent_granted", dict(
            kind="treatment", document_version="v1", signed_by="Amara", signed_at="2025-03-04")),
        ("intake", "screening_recorded", dict(
            screening_id=str(uuid.uuid4()), instrument="PHQ-9", items=phq9, total=sum(phq9),
            severity="moderately severe")),
        ("intake", "therapist_assigned", dict(therapist_id=therapist)),
        ("intake", "intake_completed", dict(therapist_id=therapist)),
        ("goals", "goal_proposed", dict(
            goal_id=goal, title="Sleep through the night", modality="cbt", priority="high",
            proposed_by=client)),
        ("goals", "goal_agreed", dict(goal_id=goal, agreed_by={"role": "therapist", "id": "t1"})),
        ("goals", "action_step_planned", dict(
            goal_id=goal, step_id=str(uuid.uuid4()), description="No screens after ten")),
        ("goals", "goal_checked_in", dict(
            goal_id=goal, rating=6, achievement_status="improving", by=client,
            note="Slept better")),
        ("progress", "session_recorded", dict(
            session_id=str(uuid.uuid4()), date="2025-03-18", attended=True,
            measures=[{"instrument": "PHQ-9", "items": [1] * 8 + [0], "total": 8}],
            reflection="Felt heard")),
    ]
    # fmt: on


def sealed_event(
    service: str, stream: str, version: int, client_id: str, name: str, data: dict, at: datetime
) -> RecordedEvent:
    """One event as its service stores it: validated against the catalog, personal sealed."""
    event_type = f"waypoint.{service}.{name}.v1"
    plain = catalog.validate_plain(event_type, {"client_id": client_id, **data})
    personal = catalog.lookup(event_type).personal_fields
    sealed = seal_fields(KEY, Place(service, "bench", client_id, event_type, ""), plain, personal)
    return RecordedEvent(
        1, str(uuid.uuid4()), "bench", stream, version, client_id, event_type, 1, at, sealed, {}
    )


def journey_events(client_id: str) -> list[tuple[str, RecordedEvent]]:
    """One client's journey as (service, event), a day apart, with per-store stream versions."""
    versions, made = Counter[tuple[str, str]](), []
    for day, (service, name, data) in enumerate(journey(client_id)):
        stream = data.get("goal_id", client_id)  # goals keep a stream per goal
        versions[service, stream] += 1  # each service has its own store
        at = START + timedelta(days=day)
        version = versions[service, stream]
        made.append((service, sealed_event(service, stream, version, client_id, name, data, at)))
    return made


def publish(settings: KafkaSettings, events: int) -> int:
    """events // 10 client journeys onto the three topics; returns how many events were sent."""
    producer, sent = durable_producer(settings), 0
    for _ in range(events // 10):
        for service, event in journey_events(str(uuid.uuid4())):
            key, value, headers = encode(event, service)
            topic = topic_of(service, settings.topic_prefix)
            producer.send(topic, key=key, value=value, headers=headers)
            sent += 1
    producer.flush()
    producer.close()
    return sent


def raw_consumer_rate(settings: KafkaSettings, events: int) -> float:
    """Every record of the three topics from offset 0, JSON-decoded, timed from connecting."""
    started = time.perf_counter()
    consumer = KafkaConsumer(
        **settings.client_options(), enable_auto_commit=False, max_poll_records=200
    )
    topics = [topic_of(s, settings.topic_prefix) for s in SERVICES]
    consumer.assign(
        [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    )
    consumer.seek_to_beginning()
    seen = 0
    while seen < events:
        for records in consumer.poll(timeout_ms=1000).values():
            seen += sum(1 for r in records if json.loads(r.value))
    elapsed = time.perf_counter() - started
    consumer.close()
    return events / elapsed


def run_python(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float, str]:
    """Run `python args`; its wall-clock seconds, its own peak RSS in MiB, and its output."""
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)  # the usage of this child alone
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text()
    if process.returncode:
        raise SystemExit(f"python {' '.join(args)} exited {process.returncode}:\n{output[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def rebuild(settings: KafkaSettings, events: int, var_dir: Path) -> tuple[float, float]:
    """The rebuild command against these topics and a fresh, migrated database: (events/s,
    peak RSS MiB). Fails unless it reports every event applied and none skipped."""
    env = {
        **os.environ,
        "WAYPOINT_VAR_DIR": str(var_dir),
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "WAYPOINT_TOPIC_PREFIX": settings.topic_prefix,
        "WAYPOINT_LOG_LEVEL": "WARNING",
    }
    env.pop("PROGRESS_DATABASE_URL", None)
    bootstrap(load_settings("progress", env)).engine.dispose()  # creates and migrates the db
    start_up, _, _ = run_python(["-c", f"import {REBUILD}"], env, var_dir / "start-up.log")
    elapsed, peak_rss, output = run_python(["-m", REBUILD], env, var_dir / "rebuild.log")
    report = re.search(r"(\d+) events applied, (\d+) skipped", output)
    if not report or int(report[1]) != events or int(report[2]):
        raise SystemExit(f"rebuild of {events} published events reported:\n{output[-3000:]}")
    return events / (elapsed - start_up), peak_rss


def measure(bootstrap_servers: str, events: int, work_dir: Path) -> tuple[int, float, float]:
    """Publish `events` into topics of their own, rebuild them: (published, events/s, MiB)."""
    settings = KafkaSettings(bootstrap_servers, topic_prefix=f"bench.rebuild{events}.")
    ensure_topics(settings)
    published = publish(settings, events)
    var_dir = work_dir / f"rebuild{events}"
    return published, *rebuild(settings, published, var_dir)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap_servers:
        _, _, small_rss = measure(bootstrap_servers, SMALL, Path(tmp))
        events, ours, peak_rss = measure(bootstrap_servers, EVENTS, Path(tmp))
        raw = raw_consumer_rate(
            KafkaSettings(bootstrap_servers, topic_prefix=f"bench.rebuild{EVENTS}."), events
        )
    save(
        "rebuild_throughput",
        {
            "events": events,
            "raw_consumer_per_s": raw,
            "rebuild_events_per_s": ours,
            "rebuild_ratio": ours / raw,
            "rebuild_peak_rss_mib_small": small_rss,
            "rebuild_peak_rss_mib": peak_rss,
            "rebuild_rss_ratio": peak_rss / small_rss,
            "target_events_per_s": 5000,
            "target_rss_ratio": 1.5,
            "settings": f"{events // 10:,} clients x 10 events over 3 topics of 3 partitions, "
            f"small run {SMALL:,} events; rebuild: max 200 records per poll, SQLite, "
            "time = wall clock - interpreter start-up and imports",
        },
    )


if __name__ == "__main__":
    main()
