"""Goals' worker: the outbox relay, the consumer of intake's events, its lag, and a
health/metrics listener (lag per partition in /health/ready's `consumer_lag` and on /metrics)."""

from __future__ import annotations

from waypoint_goals import config
from waypoint_goals.bootstrap import bootstrap
from waypoint_goals.service_layer import projector
from waypoint_shared.messaging.worker import Worker
from waypoint_shared.observability.logs import configure_logging
from waypoint_shared.runtime import consumer_loop, lag_loop, relay_loop


def main() -> None:
    configure_logging("goals", "worker")
    container = bootstrap(config.settings())
    settings, engine = container.settings, container.engine
    topics = [settings.topic_of("intake")]
    loops = [
        relay_loop(settings, engine, container.store),
        consumer_loop(settings, engine, topics, projector.handle, known_client=projector.knows),
        lag_loop(settings, engine, topics),
    ]
    Worker(engine, loops, settings.worker_port, settings.worker_host).serve_forever()
