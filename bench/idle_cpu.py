"""Idle cost and wake-up latency of the worker processes, on each store BENCH_STORE names.

- `idle_cpu_percent_<service>`: the CPU (user + system, every thread, from /proc/<pid>/stat) a real
  worker process burns over SECONDS while nothing happens, in % of one core. Target ≤ 1.
- `relay_latency_p99_ms`: under a steady load (RATE events/s committed to intake's store, one per
  transaction), from each commit to its record read back from the topic; the raw baseline is a
  produce → consume round trip through the same broker. Target: the relay adds ≤ 20 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from common import (
    BIN,
    ROOT,
    broker,
    by_store,
    database_env,
    databases,
    own_topics,
    percentile,
    raw_round_trip_ms,
    save,
    stores,
    tail,
    wait_for,
)

from waypoint_devkit.suite import suite_environment
from waypoint_shared.config import KafkaSettings
from waypoint_shared.db.database import connect, run_in_transaction
from waypoint_shared.eventstore.store import Append, EventStore, NewEvent
from waypoint_shared.messaging.topics import ensure_topics

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SERVICES = ("intake", "goals", "progress")
RATE, LOAD_SECONDS = 50, 10
ERASED_BY = {"role": "administrator", "id": "bench"}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start_workers(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    logs.mkdir(parents=True, exist_ok=True)
    workers = {}
    for service in SERVICES:
        with (logs / f"{service}.log").open("wb") as log:
            workers[service] = subprocess.Popen(
                [str(BIN / f"waypoint-{service}-worker")],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    for service in SERVICES:
        wait_for(f"http://127.0.0.1:{env[f'{service.upper()}_WORKER_PORT']}/health/ready", 120)
    return workers


def idle_cpu(workers: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    time.sleep(5)  # let start-up work (topic checks, group joins) settle
    before = {s: cpu_seconds(p.pid) for s, p in workers.items()}
    started = time.monotonic()
    time.sleep(SECONDS)
    elapsed = time.monotonic() - started
    return {
        f"idle_cpu_percent_{s}": 100 * (cpu_seconds(p.pid) - before[s]) / elapsed
        for s, p in workers.items()
    }


def relay_latency_ms(settings: KafkaSettings, database_url: str) -> list[float]:
    """Commit RATE events/s to intake's store for LOAD_SECONDS; commit → record seen, in ms."""
    consumer = tail(settings, settings.topic_prefix + "waypoint.intake.events")
    engine, store, committed, seen = connect(database_url), EventStore(), {}, {}
    stop = threading.Event()

    def read_back() -> None:
        while not stop.is_set() or len(seen) < len(committed):
            for records in consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                for record in records:
                    seen.setdefault(record.key.decode(), now)
            if stop.is_set() and time.monotonic() > deadline:
                return

    deadline = float("inf")
    reader = threading.Thread(target=read_back)
    reader.start()
    started = time.monotonic()
    for i in range(RATE * LOAD_SECONDS):
        time.sleep(max(0.0, started + i / RATE - time.monotonic()))
        client = str(uuid.uuid4())
        event = NewEvent(
            "waypoint.intake.client_erased.v1", 1, {"client_id": client, "erased_by": ERASED_BY}
        )
        append = Append("bench", f"load-{client}", client, 0, [event], {})
        run_in_transaction(engine, lambda c, a=append: store.append(c, [a]))  # type: ignore[misc]
        committed[client] = time.monotonic()
    deadline = time.monotonic() + 10
    stop.set()
    reader.join()
    consumer.close()
    engine.dispose()
    return [(seen[c] - t) * 1000 for c, t in committed.items() if c in seen]


def measure(store: str, settings: KafkaSettings, work_dir: Path) -> dict[str, object]:
    with databases(store, work_dir) as database:
        urls = {s: database(s) for s in SERVICES}
        env = suite_environment(work_dir, settings, extra=database_env(urls))
        workers = start_workers(env, work_dir / "logs")
        try:
            figures: dict[str, object] = dict(idle_cpu(workers))
            figures["idle_cpu_percent"] = max(figures.values())  # type: ignore[type-var]
            latencies = relay_latency_ms(settings, urls["intake"])
        finally:
            for process in workers.values():
                process.terminate()
            for process in workers.values():
                process.wait(timeout=30)
    figures["relayed"] = len(latencies)
    figures["relay_latency_p50_ms"] = percentile(latencies, 50)
    figures["relay_latency_p99_ms"] = percentile(latencies, 99)
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap:
        settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix="bench.")
        ensure_topics(settings)
        raw_p99 = raw_round_trip_ms(settings)
        figures = {s: measure(s, own_topics(settings, s), Path(tmp) / s) for s in stores()}
    save(
        "idle_cpu",
        {
            "seconds": SECONDS,
            **by_store(figures, "idle_cpu_percent", lower_is_better=True),
            "raw_kafka_round_trip_p99_ms": raw_p99,
            "target_idle_cpu_percent": 1.0,
            "load": f"{RATE} events/s, one per transaction, {LOAD_SECONDS} s",
        },
    )


if __name__ == "__main__":
    main()
