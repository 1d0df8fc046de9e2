"""Finding or starting the real parts tests need: Apache Kafka and PostgreSQL.

Kafka, in order: KAFKA_BOOTSTRAP_SERVERS if set; a Docker engine (asked, not guessed) through
testcontainers; else the broker the project runs itself from Maven Central jars. In CI a missing
broker or database fails the run; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import random
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


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a process about to start. It is taken
    below the kernel's ephemeral range: a port the kernel hands out (bind to 0) can be given
    again to any outgoing connection (a Kafka or PostgreSQL client) before the new process binds
    it, which is how a cluster's web replica once found its port in use. Never the same port
    twice in one test run."""
    low = _ephemeral_range()[0]
    for _ in range(1000):
        port = random.randrange(max(1024, low - 20000), low)
        if port not in _HANDED_OUT and _bindable(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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
