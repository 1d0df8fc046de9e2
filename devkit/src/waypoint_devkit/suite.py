"""The real suite for end-to-end tests: six processes (gunicorn web + worker per service) started
by the same launcher `make run` uses, on free ports, against the session's broker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.launcher import Suite
from waypoint_shared.config import KafkaSettings
from waypoint_shared.messaging.topics import ensure_topics

SERVICES = ("intake", "goals", "progress")


def suite_environment(
    var_dir: Path,
    kafka: KafkaSettings,
    web_workers: int = 2,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The processes' environment: this one's, the suite's ports and places, then `extra`
    (e.g. `WAYPOINT_RATE_LIMIT` above a test's load)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_PORT", "_DATABASE_URL"))}
    env.update(
        {
            "WAYPOINT_VAR_DIR": str(var_dir),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "WAYPOINT_TOPIC_PREFIX": kafka.topic_prefix,
            "WEB_CONCURRENCY": str(web_workers),
            "WAYPOINT_LOG_LEVEL": "INFO",
        }
    )
    env.setdefault("WAYPOINT_ENV", "development")
    for service in SERVICES:
        env[f"{service.upper()}_WEB_PORT"] = str(free_port())
        env[f"{service.upper()}_WORKER_PORT"] = str(free_port())
    env["PROGRESS_WEBHOOK_WORKER_PORT"] = str(free_port())
    env.update(extra or {})
    return env


@contextmanager
def running_suite(
    var_dir: Path,
    kafka: KafkaSettings,
    web_workers: int = 2,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Suite]:
    """Start the six processes, wait until all are ready, stop them afterwards."""
    ensure_topics(kafka)
    env = suite_environment(var_dir, kafka, web_workers, extra_env)
    suite = Suite(env, var_dir / "logs")
    suite.var_dir, suite.kafka = var_dir, kafka
    try:
        suite.start().wait_ready(timeout=90)
        yield suite
    finally:
        suite.stop()


def url_of(suite: Suite, name: str) -> str:
    return str(suite.urls()[name])


def rebuild_timeline(suite: Suite, timeout: float = 180) -> None:
    """Run progress's timeline rebuild as an operator would, in the suite's environment."""
    done = subprocess.run(
        [sys.executable, "-m", "waypoint_progress.entrypoints.rebuild"],
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@contextmanager
def own_suite(
    tmp_path_factory: pytest.TempPathFactory,
    bootstrap: str,
    name: str,
    web_workers: int = 2,
    rate_limit: int | None = None,
) -> Iterator[Suite]:
    """A running suite of a test module's own: a fresh folder for its stores and logs, and topics
    and groups of its own on the shared broker (prefixed with `name` and a random tag); with
    `rate_limit`, each token's requests per minute (`WAYPOINT_RATE_LIMIT`)."""
    prefix = f"{name}{uuid.uuid4().hex[:8]}."
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    extra = {} if rate_limit is None else {"WAYPOINT_RATE_LIMIT": str(rate_limit)}
    with running_suite(tmp_path_factory.mktemp(name), kafka, web_workers, extra) as suite:
        yield suite
