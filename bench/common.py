"""Shared plumbing of the benchmarks: a broker, free ports, processes, results.

Every figure is a ratio against a raw baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from waypoint_devkit.infrastructure import free_port, local_kafka

ROOT = Path(__file__).resolve().parents[1]
# The processes a benchmark starts use the development secrets, as `make run` does.
os.environ.setdefault("WAYPOINT_ENV", "development")
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


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
