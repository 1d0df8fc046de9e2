"""Rebuild throughput: events per second the progress service's timeline rebuild
(`python -m waypoint_progress.entrypoints.rebuild`, run as a subprocess) replays from the three
topics ÷ a raw kafka-python consumer that reads the same records from offset 0 and JSON-decodes
them. The rebuild's time is its subprocess's wall clock (start to exit) minus that of a subprocess
that only starts the interpreter and imports the rebuild module. Its memory at N events ÷ at
10,000 events: a rebuild must not hold the history in memory. Two measures of memory: the peak
RSS of the largest of its processes (sampled every 100 ms), and the peak of its whole process
tree's proportional set size (PSS; pages the forked processes share count once; every 500 ms,
as reading it costs CPU the rebuild is timed on). The rebuild
logs at the default level (INFO), as an operator runs it. Targets:
≥ 5,000 events/s and ≥ 0.25 of the raw consumer's rate, and an RSS ratio ≤ 1.5.

Each client has a journey of 10 events (intake: referred, treatment consent, PHQ-9 screening,
therapist assigned, intake completed; goals: proposed, agreed, step planned, check-in; progress:
a session with a PHQ-9), personal fields sealed with a key progress never holds. Each size gets
its own topics, and each store its own database per size (`BENCH_STORE=sqlite|postgres|both`,
default both: figures suffixed `_sqlite` / `_postgres`, unsuffixed those of the faster store).

Usage: rebuild_throughput.py [N [SMALL]] (100,000 and 10,000, into rebuild_throughput.json);
rebuild_throughput.py --large (1,000,000 and 100,000, into rebuild_large.json; `make bench-large`).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, broker, by_store, databases, raw_consumer_rate, save, stores

from waypoint_progress.bootstrap import bootstrap
from waypoint_shared import catalog
from waypoint_shared.config import SERVICES, KafkaSettings, load_settings, topic_of
from waypoint_shared.crypto.sealing import AESGCM, Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import encode
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.topics import ensure_topics

LARGE = "--large" in sys.argv[1:]
SIZES = [int(a) for a in sys.argv[1:] if a != "--large"]
EVENTS = SIZES[0] if SIZES else 1_000_000 if LARGE else 100_000
SMALL = SIZES[1] if len(SIZES) > 1 else 100_000 if LARGE else 10_000
NAME = "rebuild_large" if LARGE else "rebuild_throughput"
KEY = AESGCM.generate_key(bit_length=256)
START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
REBUILD = "waypoint_progress.entrypoints.rebuild"
RUN = uuid.uuid4().hex[:8]  # topics of this run alone, also on a broker of KAFKA_BOOTSTRAP_SERVERS


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


FIRST: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # by type: data, as validated


def validated(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data as the catalog validates it. Each type's first journey is validated; a later one
    differs in ids alone, which the catalog keeps as they are (else it is validated too)."""
    if event_type not in FIRST:
        FIRST[event_type] = (data, catalog.validate_plain(event_type, data))
        return FIRST[event_type][1]
    first, plain = FIRST[event_type]
    changed = {key: value for key, value in data.items() if value != first[key]}
    if any(plain.get(key) != first[key] for key in changed):
        return catalog.validate_plain(event_type, data)
    return {**plain, **changed}


def sealed_event(
    service: str, stream: str, version: int, client_id: str, name: str, data: dict, at: datetime
) -> RecordedEvent:
    """One event as its service stores it: valid against the catalog, personal sealed."""
    event_type = f"waypoint.{service}.{name}.v1"
    plain = validated(event_type, {"client_id": client_id, **data})
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


class TreeMemory:
    """A process and its descendants sampled from /proc while it runs: the largest peak RSS of
    one of them (VmHWM, every 100 ms; not ru_maxrss, which counts the RSS of the process that
    spawned the rebuild, the benchmark itself), and the peak of their proportional set sizes
    (PSS; pages the forked processes share count once) together, every 500 ms. Reading a
    process's PSS walks its page tables: sampled with the RSS every 100 ms, and the tree found
    by reading every process's /proc/<pid>/stat, the sampler took ~18 ms of CPU a sample, about
    a tenth of the two cores the rebuild was being timed on."""

    def __init__(self, pid: int):
        self.pid, self.done = pid, threading.Event()
        self.peak_pss_kib, self.peak_rss_kib = 0, 0
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def stop(self) -> tuple[float, float]:
        """Stop sampling: (largest peak RSS, peak PSS) in MiB."""
        self.done.set()
        self.thread.join()
        return self.peak_rss_kib / 1024, self.peak_pss_kib / 1024

    def _sample(self) -> None:
        for tick in itertools.count():
            if self.done.wait(0.1):
                return
            tree = _tree(self.pid)
            self.peak_rss_kib = max(self.peak_rss_kib, *(_kib(p, "status", "VmHWM") for p in tree))
            if tick % 5 == 0:
                pss = sum(_kib(p, "smaps_rollup", "Pss") for p in tree)
                self.peak_pss_kib = max(self.peak_pss_kib, pss)


def _tree(root: int) -> list[int]:
    """root and its descendants, from the children each of their threads started
    (/proc/<pid>/task/<tid>/children)."""
    tree, unseen = [], [root]
    while unseen:
        pid = unseen.pop()
        tree.append(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                unseen.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue  # the thread ended meanwhile
    return sorted(tree)


def _kib(pid: int, file: str, field: str) -> int:
    """A figure in kB of /proc/<pid>/<file> (0 once the process has ended)."""
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found[1]) if found else 0


def run_python(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float, float, str]:
    """Run `python args`: its wall-clock seconds, the peak RSS of its largest process and the peak
    PSS of its process tree in MiB, and its output."""
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        memory = TreeMemory(process.pid)
        status = process.wait()
        elapsed = time.perf_counter() - started
    peak_rss, peak_pss = memory.stop()
    output = log.read_text()
    if status:
        raise SystemExit(f"python {' '.join(args)} exited {status}:\n{output[-3000:]}")
    return elapsed, peak_rss, peak_pss, output


def rebuild(
    settings: KafkaSettings, events: int, database_url: str, var_dir: Path
) -> dict[str, float]:
    """The rebuild command against these topics and a fresh, migrated database: events/s, peak
    RSS and PSS in MiB. Fails unless it reports every event applied and none skipped."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WAYPOINT_VAR_DIR": str(var_dir),
        "PROGRESS_DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "WAYPOINT_TOPIC_PREFIX": settings.topic_prefix,
        "WAYPOINT_LOG_LEVEL": "INFO",  # the default, as an operator runs it
    }
    bootstrap(load_settings("progress", env)).engine.dispose()  # creates and migrates the db
    start_up, *_ = run_python(["-c", f"import {REBUILD}"], env, var_dir / "start-up.log")
    elapsed, peak_rss, peak_pss, output = run_python(["-m", REBUILD], env, var_dir / "rebuild.log")
    report = re.search(r"(\d+) events applied, (\d+) skipped", output)
    if not report or int(report[1]) != events or int(report[2]):
        raise SystemExit(f"rebuild of {events} published events reported:\n{output[-3000:]}")
    return {"per_s": events / (elapsed - start_up), "rss": peak_rss, "pss": peak_pss}


def topics(bootstrap_servers: str, events: int) -> tuple[KafkaSettings, int]:
    """`events` published into topics of their own: their settings, and how many were sent."""
    settings = KafkaSettings(bootstrap_servers, topic_prefix=f"bench.rebuild{events}.{RUN}.")
    ensure_topics(settings)
    return settings, publish(settings, events)


def store_figures(small: dict[str, float], large: dict[str, float], raw: float) -> dict[str, float]:
    return {
        "rebuild_events_per_s": large["per_s"],
        "rebuild_ratio": large["per_s"] / raw,
        "rebuild_peak_rss_mib_small": small["rss"],
        "rebuild_peak_rss_mib": large["rss"],
        "rebuild_rss_ratio": large["rss"] / small["rss"],
        "rebuild_peak_pss_mib_small": small["pss"],
        "rebuild_peak_pss_mib": large["pss"],
        "rebuild_pss_ratio": large["pss"] / small["pss"],
    }


def main() -> None:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap_servers:
        (small_topics, small), (large_topics, events) = (
            topics(bootstrap_servers, size) for size in (SMALL, EVENTS)
        )
        raw = raw_consumer_rate(
            large_topics, [topic_of(s, large_topics.topic_prefix) for s in SERVICES], events
        )
        for store in stores():
            work = Path(tmp) / store
            with databases(store, work) as database:
                ours = [
                    rebuild(settings, sent, database(f"rebuild{sent}"), work / f"rebuild{sent}")
                    for settings, sent in ((small_topics, small), (large_topics, events))
                ]
            figures[store] = store_figures(*ours, raw)
    save(
        NAME,
        {
            "events": events,
            "raw_consumer_per_s": raw,
            **by_store(figures, "rebuild_events_per_s"),
            "target_events_per_s": 5000,
            "target_ratio": 0.25,
            "target_rss_ratio": 1.5,
            "settings": f"{events // 10:,} clients x 10 events over 3 topics of 3 partitions, "
            f"small run {small:,} events; rebuild: processes sharing the partitions, "
            "time = wall clock - interpreter start-up and imports",
        },
    )


if __name__ == "__main__":
    main()
