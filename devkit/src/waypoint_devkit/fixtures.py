"""pytest fixtures for the whole suite (loaded by the root conftest.py).

Tests run in development (`WAYPOINT_ENV=development`, unless the caller set it): the processes
they start accept the development secrets the tokens below are signed with.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from waypoint_devkit.infrastructure import (
    KAFKA_IMAGE,
    docker_engine_available,
    local_kafka,
    local_postgres,
    unavailable,
)
from waypoint_shared.config import DEVELOPMENT_SECRET, KafkaSettings
from waypoint_shared.db.database import connect, migrate
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS
from waypoint_shared.messaging.topics import ensure_topics, suite_topics


@contextlib.contextmanager
def started(server: Any, what: str) -> Iterator[Any]:
    """A local server started for the block and stopped after it; the test is skipped (or fails,
    where infrastructure is required) when it cannot start."""
    try:
        server.start()
    except Exception as error:
        unavailable(f"no {what}: {error}")
    try:
        yield server
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("WAYPOINT_ENV", "development")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real broker for the test session."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    elif docker_engine_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with started(local_kafka(tmp_path_factory.mktemp("kafka")), "Kafka broker") as broker:
            yield broker.bootstrap
            # Its topics are thrown away with it, so nothing is gained by a clean shutdown: after a
            # full run its process outlived the shutdown its log reported, until the 30 s limit.
            broker.kill()


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[Any]:
    """A broker of this test's own, which the test may stop and restart."""
    with started(local_kafka(tmp_path / "kafka"), "Kafka broker") as broker:
        yield broker


@pytest.fixture
def topic_prefix() -> str:
    """Every test uses its own topics and consumer groups."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, topic_prefix: str) -> KafkaSettings:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)
    ensure_topics(settings, suite_topics(settings))
    return settings


@pytest.fixture
def kafka_environment(tmp_path: Path, kafka_settings: KafkaSettings) -> dict[str, str]:
    """A service's environment on this test's own store folder, broker and topics."""
    return {
        "WAYPOINT_VAR_DIR": str(tmp_path),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "WAYPOINT_TOPIC_PREFIX": kafka_settings.topic_prefix,
    }


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with started(
        local_postgres(tmp_path_factory.mktemp("postgres")), "PostgreSQL server"
    ) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """A fresh database of this test's own."""
    return str(postgres_server.create_database(f"t{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each contract test runs against every storage adapter."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def migrated(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    migrate(engine, SHARED_MIGRATIONS)
    yield engine
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the `app` fixture the test folder defines."""
    return app.test_client()


@pytest.fixture
def token() -> Callable[..., str]:
    from waypoint_shared.http.auth import ALL_SCOPES, mint_token

    def make(tenant: str = "clinic-a", scopes: str = ALL_SCOPES, sub: str = "test-platform") -> str:
        return mint_token(DEVELOPMENT_SECRET, sub, tenant, scopes)

    return make
