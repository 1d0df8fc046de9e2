"""Progress's worker: the outbox relay, the timeline projector over every topic, health."""

from __future__ import annotations

from waypoint_progress import config
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import SERVICES
from waypoint_shared.runtime import configure_logging, consumer_loop, relay_loop
from waypoint_shared.worker import Worker


def main() -> None:
    configure_logging()
    container = bootstrap(config.settings())
    settings, engine = container.settings, container.engine
    topics = [settings.topic_of(s) for s in SERVICES]
    loops = [
        relay_loop(settings, engine, container.store),
        consumer_loop(settings, engine, topics, container.projector.handle),
    ]
    Worker(engine, loops, settings.worker_port, settings.worker_host).serve_forever()
