"""Finding or starting the real parts tests need: Apache Kafka and PostgreSQL.

Kafka, in order: KAFKA_BOOTSTRAP_SERVERS if set; a Docker engine (asked, not guessed) through
testcontainers; else the broker the project runs itself from Maven Central jars. In CI a missing
broker or database fails the run; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from waypoint_devkit.local_kafka import LocalKafka
from waypoint_devkit.local_postgres import LocalPostgres

KAFKA_IMAGE = "apache/kafka:4.3.1"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI (nothing may be skipped there), skip elsewhere."""
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docker_engine_available() -> bool:
    try:
        done = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def local_kafka(data_dir: Path) -> LocalKafka:
    """A broker from Maven Central jars on free ports; not started yet."""
    return LocalKafka(free_port(), free_port(), data_dir)


def local_postgres(data_dir: Path) -> LocalPostgres:
    """A PostgreSQL server from Debian's packages on a free port; not started yet."""
    return LocalPostgres(free_port(), data_dir)
