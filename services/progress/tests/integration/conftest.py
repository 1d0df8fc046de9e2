"""Progress on this test's own broker, topics and store, and its consumer runner on the three
event topics."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from waypoint_devkit.consuming import consumer_runner
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_shared.config import SERVICES, load_settings
from waypoint_shared.messaging.consumer import ConsumerRunner


@pytest.fixture
def progress(kafka_environment: dict[str, str]) -> Container:
    return bootstrap(load_settings("progress", kafka_environment))


def projection_runner(progress: Container) -> ConsumerRunner:
    """A new runner of progress's consumer group, projecting every service's events."""
    return consumer_runner(
        progress.settings,
        progress.engine,
        list(SERVICES),
        progress.projector.handle,
        progress.projector.knows,
    )


@pytest.fixture
def runner_for() -> Callable[[Container], ConsumerRunner]:
    return projection_runner
