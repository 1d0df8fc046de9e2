"""Goals' worker: the outbox relay, the consumer of intake's events, and a health listener."""

from __future__ import annotations

from waypoint_goals import config
from waypoint_goals.adapters import eligibility
from waypoint_goals.bootstrap import bootstrap
from waypoint_shared.runtime import configure_logging, consumer_loop, relay_loop
from waypoint_shared.worker import Worker


def main() -> None:
    configure_logging()
    container = bootstrap(config.settings())
    settings, engine = container.settings, container.engine
    loops = [
        relay_loop(settings, engine, container.store),
        consumer_loop(settings, engine, [settings.topic_of("intake")], eligibility.handle),
    ]
    Worker(engine, loops, settings.worker_port, settings.worker_host).serve_forever()
