"""Finding or starting the real parts tests need: Apache Kafka and PostgreSQL.

Kafka, in order: KAFKA_BOOTSTRAP_SERVERS if set; a Docker engine (asked, not guessed) through
testcontainers; else the broker the project runs itself from Maven Central jars. In CI a missing
broker or database fails the run; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

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


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "deploy" / "kafka" / "pom.xml").exists():
            return parent
    raise RuntimeError("cannot find the repository root from " + str(here))


def load_deploy_module(relative: str) -> ModuleType:
    """Import a stdlib-only runner script from deploy/ (they are not packages)."""
    path = repo_root() / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def local_kafka(data_dir: Path) -> object:
    """A LocalKafka (deploy/kafka/local_kafka.py) on free ports; not started yet."""
    runner = load_deploy_module("deploy/kafka/local_kafka.py")
    return runner.LocalKafka(free_port(), free_port(), data_dir)


def local_postgres(data_dir: Path) -> object:
    runner = load_deploy_module("deploy/postgres/local_postgres.py")
    return runner.LocalPostgres(free_port(), data_dir)
