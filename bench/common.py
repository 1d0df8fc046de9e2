"""Shared plumbing of the benchmarks: a broker, stores, free ports, processes, results.

Every figure is a ratio against a raw baseline measured in the same run on the same machine.
A benchmark that touches a store runs once per store `BENCH_STORE` names (`sqlite`, `postgres`
or `both`, the default) and saves each figure per store (`relay_ratio_sqlite`,
`relay_ratio_postgres`) beside the better store's unsuffixed (`relay_ratio`), see `by_store`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from waypoint_devkit.infrastructure import free_port, local_kafka, local_postgres
from waypoint_shared.config import KafkaSettings
from waypoint_shared.messaging.topics import ensure_topics

ROOT = Path(__file__).resolve().parents[1]
# The processes a benchmark starts use the development secrets, as `make run` does.
os.environ.setdefault("WAYPOINT_ENV", "development")
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
STORES = ("sqlite", "postgres")
# The product's durability on the benchmark's own server (the test server's defaults are off).
DURABLE_POSTGRES = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def raw_consumer_rate(settings: KafkaSettings, topics: list[str], events: int) -> float:
    """The raw baseline of the projector and the rebuild: a bare kafka-python consumer reading
    `events` records of the topics from offset 0 and JSON-decoding each, timed from its first
    poll (its partitions assigned directly and the metadata fetched before, so neither a group
    join nor connecting is timed).

    The broker holds a fetch until data arrives or `fetch_max_wait_ms` passes, and kafka-python
    sends the next fetch to a broker only once the last one is answered: with the default 500
    ms, a fetch that asked only for partitions read to their end held back the others' records
    for up to half a second, which one run in three or so met, and the same records were read at
    25,000 or at 78,000 a second. A 10 ms wait keeps the baseline to the consumer's own work."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        max_poll_records=200,
        fetch_max_wait_ms=10,
    )
    consumer.assign(
        [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    )
    consumer.seek_to_beginning()
    seen, started = 0, time.perf_counter()
    while seen < events:
        for records in consumer.poll(timeout_ms=1000).values():
            seen += sum(1 for r in records if json.loads(r.value))
    elapsed = time.perf_counter() - started
    consumer.close()
    return events / elapsed


def stores() -> list[str]:
    """The stores to measure: BENCH_STORE=sqlite|postgres|both (default both)."""
    chosen = os.environ.get("BENCH_STORE", "both").strip().lower()
    if chosen == "both":
        return list(STORES)
    if chosen not in STORES:
        raise SystemExit(f"BENCH_STORE must be sqlite, postgres or both, not {chosen!r}")
    return [chosen]


@contextmanager
def postgres(work_dir: Path) -> Iterator[Callable[[str], str]]:
    """A PostgreSQL server of the benchmark's own (Debian's packages, devkit's runner) with the
    product's durability (fsync, synchronous_commit on); yields a maker of database URLs."""
    server = local_postgres(work_dir / "postgres")
    server.start()
    try:
        for setting, value in DURABLE_POSTGRES.items():
            server.sql(f"ALTER SYSTEM SET {setting} = '{value}'")
        server.sql("SELECT pg_reload_conf()")
        yield server.create_database
    finally:
        server.stop()


@contextmanager
def databases(store: str, work_dir: Path) -> Iterator[Callable[[str], str]]:
    """A maker of database URLs on `store`: a file per name under work_dir for SQLite, a database
    per name on the benchmark's own server for PostgreSQL."""
    if store == "postgres":
        with postgres(work_dir) as create:
            yield create
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    yield lambda name: f"sqlite:///{work_dir}/{name}.db"


def database_env(services: Mapping[str, str]) -> dict[str, str]:
    """The environment pointing each service (name → URL) at its database, for running_suite."""
    return {f"{service.upper()}_DATABASE_URL": url for service, url in services.items()}


def own_topics(settings: KafkaSettings, store: str) -> KafkaSettings:
    """The settings with topics and groups of the store's run only (a prefix of its own)."""
    return replace(settings, topic_prefix=f"{settings.topic_prefix}{store}.")


def by_store(
    figures: Mapping[str, Mapping[str, object]], headline: str, lower_is_better: bool = False
) -> dict[str, object]:
    """Per-store figures flattened: each key suffixed with its store, and unsuffixed the figures
    of the store that did better on `headline` (named under "store")."""
    pick = min if lower_is_better else max
    best = pick(figures, key=lambda store: figures[store][headline])  # type: ignore[arg-type,return-value]
    flat: dict[str, object] = {"store": best, **figures[best]}
    for store, theirs in figures.items():
        flat.update({f"{key}_{store}": value for key, value in theirs.items()})
    return flat


@contextmanager
def broker(work_dir: Path) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS if set, else a local broker of the benchmark's own."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    kafka = local_kafka(work_dir / "kafka")
    kafka.start()  # type: ignore[attr-defined]
    try:
        yield kafka.bootstrap  # type: ignore[attr-defined]
    finally:
        kafka.stop()  # type: ignore[attr-defined]


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """A gunicorn with the product's settings (waypoint_shared.http.gunicorn_conf) serving app."""
    port = free_port()
    env = {
        **os.environ,
        "WAYPOINT_RATE_LIMIT": "100000",  # above any benchmark's load; a benchmark may lower it
        **env,
        "WEB_CONCURRENCY": str(workers),
        "WAYPOINT_LOG_LEVEL": "WARNING",
    }
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "python:waypoint_shared.http.gunicorn_conf",
        "--access-logfile",
        "/dev/null",
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]
    with serving(command, env, port, "/health/live") as url:
        yield url


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, ready: str) -> Iterator[str]:
    """A server process on 127.0.0.1:port, its URL once `ready` answers; stopped after."""
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}{ready}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "kafka_python": version("kafka-python"),
        "flask": version("flask"),
        "gunicorn": version("gunicorn"),
        "sqlalchemy": version("sqlalchemy"),
    }


def save(name: str, figures: dict[str, object]) -> Path:
    """Write one benchmark's figures to bench/results/<name>.json and print them as a table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    width = max(len(k) for k in figures)
    print(f"\n{name}")
    for key, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    return path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tail(settings: KafkaSettings, topic: str) -> KafkaConsumer:
    """A consumer at the end of every partition of the topic."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, fetch_max_wait_ms=10)
    deadline = time.monotonic() + 30
    while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
        consumer.topics()  # asks the broker for fresh metadata
        time.sleep(0.1)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(partitions)
    consumer.seek_to_end()
    for partition in partitions:
        consumer.position(partition)
    return consumer


def raw_round_trip_ms(settings: KafkaSettings, count: int = 200, pause: float = 0.02) -> float:
    """A bare produce (acks=all) → consume round trip through the broker, p99 in ms."""
    topic = f"bench-rtt-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, [NewTopic(topic, 1, 1)])
    consumer = tail(settings, topic)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    samples = []
    for _ in range(count):
        sent = time.monotonic()
        producer.send(topic, b"x").get(timeout=10)
        while not consumer.poll(timeout_ms=1000):
            pass
        samples.append((time.monotonic() - sent) * 1000)
        time.sleep(pause)
    producer.close()
    consumer.close()
    return percentile(samples, 99)
