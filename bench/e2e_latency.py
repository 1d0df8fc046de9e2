"""End-to-end latency: from a referral's 201 to its entry on the timeline, at a fixed arrival
rate (an open model: requests start on schedule whatever the previous ones do, so coordinated
omission cannot hide the tail). Target p99 ≤ 100 ms at 50 commands/s. Runs on each store
BENCH_STORE names (every service's database on it).

The measured 30 s follow WARMUP seconds of the same load, not counted: the broker this benchmark
starts is a new JVM, and its first 20 s of such a load cost it about twice the CPU of the next 20
(its code is being compiled), on the two cores every process shares. A broker in service has
long been past that; the figure is the suite's steady state.

The raw baseline printed beside it is a bare produce → consume round trip through the same broker.
"""

from __future__ import annotations

import json
import select
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlsplit

from common import (
    broker,
    by_store,
    database_env,
    databases,
    own_topics,
    percentile,
    raw_round_trip_ms,
    save,
    stores,
)
from sqlalchemy import Engine, bindparam, create_engine, text

from waypoint_devkit.suite import running_suite, url_of
from waypoint_shared.config import DEVELOPMENT_SECRET, KafkaSettings
from waypoint_shared.http.auth import mint_token

RATE, SECONDS = 50, int(sys.argv[1]) if len(sys.argv) > 1 else 30
WARMUP = 20  # seconds of the same load before the measured ones
SENDERS = 16  # enough that a slow answer never holds back the next start at 50/s
BODY = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


def send_on_schedule(
    url: str, token: str, acked: dict[str, float], seconds: int, failed: Counter[str]
) -> None:
    """Start one POST every 1/RATE s for `seconds`, whatever the earlier ones do, on a pool of
    senders that each keep a connection; record when each 201 arrived, and count every other
    answer by its status (and every request that got none by its error) in `failed`.

    The senders use the standard library's `http.client` with the body encoded once: the
    benchmark shares the two cores with the suite it measures, and `requests` cost it about
    three times the CPU a request (see `harness_cpu_ms`)."""
    address = urlsplit(url)
    body = json.dumps(BODY).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local = threading.local()

    def one() -> None:
        try:
            if not hasattr(local, "connection") or closed_by_server(local.connection):
                local.connection = HTTPConnection(address.hostname, address.port, timeout=30)
            local.connection.request("POST", "/v1/clients", body, headers)
            response = local.connection.getresponse()
            answer = response.read()
        except (OSError, HTTPException) as error:
            failed[type(error).__name__] += 1
            del local.connection  # the next request opens a new one
            return
        if response.status == 201:
            acked[json.loads(answer)["client_id"]] = time.monotonic()
        else:
            failed[f"{response.status} {answer[:200]!r}"] += 1

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for i in range(RATE * seconds):
            time.sleep(max(0.0, start + i / RATE - time.monotonic()))
            pool.submit(one)


def closed_by_server(connection: HTTPConnection) -> bool:
    """Whether a kept connection was closed while idle (gunicorn closes one after `keepalive`
    seconds): its socket reads as ready with nothing to read. A request sent on it would fail
    unanswered, so, as urllib3 does, it is not used again."""
    sock = connection.sock
    return sock is not None and bool(select.select([sock], [], [], 0)[0])


SEEN = text(  # a new client's timeline is stored with their referral on it (by primary key)
    "SELECT client_id FROM timelines WHERE tenant_id = :tenant AND client_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
TENANT = "bench-clinic"


def watcher_ready(url: str) -> Engine:
    """An engine on the progress database that has already answered the watcher's query: made
    before the measured window, because making it is not the suite's time (on PostgreSQL,
    loading the driver and connecting took 1.5 s under this load, and every referral answered
    meanwhile looked that much later)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(SEEN, {"tenant": TENANT, "ids": [""]}).all()
    return engine


def watch_timeline(
    engine: Engine, acked: dict[str, float], visible: dict[str, float], stop: threading.Event
) -> None:
    """Poll the progress database for the referrals answered 201 and not yet on the timeline."""
    while not stop.is_set():
        pending = [c for c in list(acked) if c not in visible]
        if pending:
            with engine.connect() as conn:
                seen = conn.execute(SEEN, {"tenant": TENANT, "ids": pending}).scalars().all()
            now = time.monotonic()
            for client_id in seen:
                visible.setdefault(client_id, now)
        time.sleep(0.005)


def measure(store: str, settings: KafkaSettings, work_dir: Path) -> dict[str, object]:
    above_the_load = {"WAYPOINT_RATE_LIMIT": str(RATE * 10)}
    with databases(store, work_dir) as database:
        urls = {s: database(s) for s in ("intake", "goals", "progress")}
        env = {**above_the_load, **database_env(urls)}
        with running_suite(work_dir / "suite", settings, extra_env=env) as suite:
            intake = url_of(suite, "intake-web")
            token = mint_token(DEVELOPMENT_SECRET, "bench", TENANT)
            failed: Counter[str] = Counter()
            send_on_schedule(intake, token, {}, WARMUP, failed)
            failed.clear()  # the warm-up's answers are not measured
            acked: dict[str, float] = {}
            visible: dict[str, float] = {}
            stop = threading.Event()
            engine = watcher_ready(urls["progress"])
            watcher = threading.Thread(target=watch_timeline, args=(engine, acked, visible, stop))
            watcher.start()
            harness_cpu = time.process_time()
            send_on_schedule(intake, token, acked, SECONDS, failed)
            harness_cpu = time.process_time() - harness_cpu
            deadline = time.monotonic() + 30
            while set(acked) - set(visible) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            watcher.join()
            engine.dispose()
    latencies = [max(0.0, visible[c] - t) * 1000 for c, t in acked.items() if c in visible]
    return {
        "acked": len(acked),
        # requests of the measured window not answered 201, by status or error (none expected)
        "failed": sum(failed.values()),
        "failed_by_answer": dict(failed),
        "projected": len(latencies),
        "e2e_p50_ms": statistics.median(latencies),
        # the benchmark's own CPU (senders and watcher) a command, on the cores the suite shares
        "harness_cpu_ms": harness_cpu * 1000 / max(1, len(acked)),
        "e2e_p99_ms": percentile(latencies, 99),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as bootstrap:
        settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix="bench.")
        raw_p99 = raw_round_trip_ms(settings)
        figures = {s: measure(s, own_topics(settings, s), Path(tmp) / s) for s in stores()}
    save(
        "e2e_latency",
        {
            "rate_per_s": RATE,
            "seconds": SECONDS,
            "warmup_seconds": WARMUP,
            **by_store(figures, "e2e_p99_ms", lower_is_better=True),
            "raw_kafka_round_trip_p99_ms": raw_p99,
            "target_p99_ms": 100,
        },
    )


if __name__ == "__main__":
    main()
