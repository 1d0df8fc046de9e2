"""Rebuild the timeline from every topic: `python -m waypoint_progress.entrypoints.rebuild`, or
`flask --app waypoint_progress.entrypoints.app:create_app rebuild-timeline`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from waypoint_progress import config
from waypoint_progress.adapters.topic_reader import TopicReader
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.entrypoints.common import container
from waypoint_progress.service_layer.rebuild import Rebuilt, rebuild
from waypoint_shared.config import SERVICES
from waypoint_shared.messaging.kafka_clients import group_consumer
from waypoint_shared.runtime import configure_logging


def run(container: Container) -> Rebuilt:
    """Replay the three topics from offset 0 into fresh tables and swap them in."""
    settings = container.settings
    reader = TopicReader(
        lambda: group_consumer(settings.kafka, None, enable_auto_commit=False),
        [settings.topic_of(s) for s in SERVICES],
    )
    try:
        return rebuild(container.engine, container.projector, reader, settings.consumer_group)
    finally:
        reader.close()


def _report(done: Rebuilt) -> str:
    return f"timeline rebuilt: {done.applied} events applied, {done.skipped} skipped"


@click.command("rebuild-timeline")
@with_appcontext
def command() -> None:
    """Replay every topic from offset 0 into fresh tables and swap them in."""
    click.echo(_report(run(container())))


def main() -> None:
    settings = config.settings()
    configure_logging(level=settings.log_level)
    print(_report(run(bootstrap(settings))))


if __name__ == "__main__":
    main()
