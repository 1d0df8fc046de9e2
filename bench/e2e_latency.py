"""End-to-end latency: from a referral's 201 to its entry on the timeline, at a fixed arrival
rate (an open model: requests start on schedule whatever the previous ones do, so coordinated
omission cannot hide the tail). Target p99 ≤ 250 ms at 50 commands/s.

The raw baseline printed beside it is a bare produce → consume round trip through the same broker.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from common import broker, save
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from waypoint_devkit.suite import running_suite, url_of
from waypoint_shared.config import DEVELOPMENT_SECRET, KafkaSettings
from waypoint_shared.http.auth import mint_token
from waypoint_shared.messaging.topics import ensure_topics

RATE, SECONDS = 50, int(sys.argv[1]) if len(sys.argv) > 1 else 30
SENDERS = 16  # enough that a slow answer never holds back the next start at 50/s
BODY = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def send_on_schedule(url: str, token: str, acked: dict[str, float]) -> None:
    """Start one POST every 1/RATE s, whatever the earlier ones do, on a pool of senders that
    each keep a connection; record when each 201 arrived."""
    headers, local = {"Authorization": f"Bearer {token}"}, threading.local()

    def one() -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(f"{url}/v1/clients", json=BODY, headers=headers, timeout=30)
        if response.status_code == 201:
            acked[response.json()["client_id"]] = time.monotonic()

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for i in range(RATE * SECONDS):
            time.sleep(max(0.0, start + i / RATE - time.monotonic()))
            pool.submit(one)


def watch_timeline(db: Path, visible: dict[str, float], stop: threading.Event) -> None:
    """Poll the progress database (read-only) for newly projected referrals; each look reads
    only the rows written since the last one."""
    while not db.exists() and not stop.is_set():
        time.sleep(0.01)
    connection, last_row = sqlite3.connect(f"file:{db}?mode=ro", uri=True), 0
    while not stop.is_set():
        rows = connection.execute(
            "SELECT rowid, client_id FROM timeline_entries "
            "WHERE rowid > ? AND type = 'client_referred'",
            (last_row,),
        ).fetchall()
        now = time.monotonic()
        for row_id, client_id in rows:
            visible.setdefault(client_id, now)
            last_row = max(last_row, row_id)
        time.sleep(0.005)
    connection.close()


def raw_round_trip_ms(settings: KafkaSettings, count: int = 200) -> float:
    topic = f"bench-rtt-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, [NewTopic(topic, 1, 1)])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="latest",
        group_id=f"rtt-{uuid.uuid4()}",
    )
    consumer.poll(timeout_ms=2000)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    samples = []
    for _ in range(count):
        sent = time.monotonic()
        producer.send(topic, b"x").get(timeout=10)
        while not consumer.poll(timeout_ms=1000):
            pass
        samples.append((time.monotonic() - sent) * 1000)
    producer.close()
    consumer.close()
    return percentile(samples, 99)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap:
        settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix="bench.")
        raw_p99 = raw_round_trip_ms(settings)
        above_the_load = {"WAYPOINT_RATE_LIMIT": str(RATE * 10)}
        with running_suite(Path(tmp) / "suite", settings, extra_env=above_the_load) as suite:
            acked: dict[str, float] = {}
            visible: dict[str, float] = {}
            stop = threading.Event()
            watcher = threading.Thread(
                target=watch_timeline, args=(Path(tmp) / "suite" / "progress.db", visible, stop)
            )
            watcher.start()
            send_on_schedule(
                url_of(suite, "intake-web"),
                mint_token(DEVELOPMENT_SECRET, "bench", "bench-clinic"),
                acked,
            )
            deadline = time.monotonic() + 30
            while set(acked) - set(visible) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            watcher.join()
    latencies = [max(0.0, visible[c] - t) * 1000 for c, t in acked.items() if c in visible]
    save(
        "e2e_latency",
        {
            "rate_per_s": RATE,
            "seconds": SECONDS,
            "acked": len(acked),
            "projected": len(latencies),
            "e2e_p50_ms": statistics.median(latencies),
            "e2e_p99_ms": percentile(latencies, 99),
            "raw_kafka_round_trip_p99_ms": raw_p99,
            "target_p99_ms": 250,
        },
    )


if __name__ == "__main__":
    main()
