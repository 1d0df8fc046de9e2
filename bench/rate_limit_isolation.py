"""Rate-limit isolation: clinic A's p99 latency of `GET /v1/therapists` on intake while clinic B
floods the same service with one token (answered 429 beyond its limit) ÷ A's p99 unloaded.
Target ≤ 2. Intake under gunicorn with the product's settings and the default limit (100/s).

A sends 20 requests a second on schedule (under its own limit); B floods with wrk. Measured twice
in one run: straight at gunicorn (the services' own limiter refuses the flood) and through
HAProxy configured by the devkit's balancer as `make run-cluster` runs it (the proxy refuses the
flood before Python). The target is judged by the figure through the proxy; each figure's
unloaded p99 is its raw baseline, measured on the same path in the same run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests
from common import gunicorn, save, serving

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import free_port
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import mint_token

A_RATE, SECONDS = 20, 15
FLOOD_THREADS, FLOOD_CONNECTIONS = 2, 16


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def clinic_a_latencies(url: str, seconds: int) -> list[float]:
    """One request every 1/A_RATE s; every one must succeed."""
    headers = {"Authorization": f"Bearer {mint_token(DEVELOPMENT_SECRET, 'a', 'clinic-a')}"}
    samples, start = [], time.monotonic()
    with requests.Session() as session:
        for i in range(A_RATE * seconds):
            time.sleep(max(0.0, start + i / A_RATE - time.monotonic()))
            sent = time.monotonic()
            answer = session.get(f"{url}/v1/therapists", headers=headers, timeout=30)
            if answer.status_code != 200:
                raise RuntimeError(f"clinic A was answered {answer.status_code}: {answer.text}")
            samples.append((time.monotonic() - sent) * 1000)
    return samples


def flood(url: str, seconds: int, refused: dict[str, int]) -> None:
    """Clinic B's token from wrk, as fast as it goes; counts the 429s it got."""
    token = mint_token(DEVELOPMENT_SECRET, "b", "clinic-b")
    done = subprocess.run(
        [
            "wrk",
            f"-t{FLOOD_THREADS}",
            f"-c{FLOOD_CONNECTIONS}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: Bearer {token}",
            f"{url}/v1/therapists",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    total = re.search(r"(\d+) requests in", done.stdout)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    refused["requests"] = int(total.group(1)) if total else 0
    refused["refused"] = int(non_2xx.group(1)) if non_2xx else 0


@contextmanager
def haproxy(web: str, env: dict[str, str], work_dir: Path) -> Iterator[str]:
    """HAProxy in front of the web process, configured by the devkit's balancer as in a cluster
    (intake's frontend, its one replica checked on /health/ready, the per-token limit of env)."""
    front, replica = free_port(), urlsplit(web).port or 80
    text = balancer.configuration({"intake": front}, {"intake": [replica]}, free_port(), env)
    config = balancer.write_configuration(work_dir / "haproxy.cfg", text)
    command = [balancer.haproxy_command(), "-db", "-f", str(config)]
    with serving(command, env, front, balancer.HEALTH_PATH) as url:
        yield url


def isolation(url: str) -> dict[str, float | int]:
    """Clinic A's p99 unloaded, then under clinic B's flood, both at url."""
    clinic_a_latencies(url, 2)  # warm up
    unloaded = percentile(clinic_a_latencies(url, SECONDS), 99)
    counts: dict[str, int] = {}
    flooding = threading.Thread(target=flood, args=(url, SECONDS + 2, counts))
    flooding.start()
    time.sleep(1.0)
    under_flood = percentile(clinic_a_latencies(url, SECONDS), 99)
    flooding.join()
    time.sleep(2.0)  # the flood's bucket drains before the next measurement
    return {
        "clinic_a_p99_unloaded_ms": round(unloaded, 2),
        "clinic_a_p99_under_flood_ms": round(under_flood, 2),
        "isolation_ratio": under_flood / unloaded,
        "clinic_b_requests": counts.get("requests", 0),
        "clinic_b_refused_429": counts.get("refused", 0),
    }


def load_average() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"WAYPOINT_VAR_DIR": tmp, "WAYPOINT_RATE_LIMIT": "100"}
        with gunicorn("waypoint_intake.entrypoints.app:create_app()", env) as web:
            direct = isolation(web)
            with haproxy(web, env, Path(tmp)) as proxy:
                proxied = isolation(proxy)
    save(
        "rate_limit_isolation",
        {
            **proxied,  # the figure the target is judged by: the flood refused by the proxy
            "target": 2.0,
            "direct": direct,  # the same, straight at gunicorn: refused by the services' limiter
            "load_average_before_after": [load_before, load_average()],
            "settings": f"intake, gunicorn 2 gthread workers of 8 threads, SQLite, limit 100/s; "
            f"A {A_RATE}/s for {SECONDS}s; B wrk -t{FLOOD_THREADS} -c{FLOOD_CONNECTIONS}; "
            "first straight at gunicorn, then through HAProxy 2.6 (devkit balancer: per-token "
            "limit in a stick table, 429 answered by HAProxy after its 1 s tarpit)",
        },
    )


if __name__ == "__main__":
    main()
