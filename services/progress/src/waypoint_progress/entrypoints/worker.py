"""Progress's worker: the outbox relay, the timeline projector over every topic, its lag, health.

Lag per partition is in the worker's /health/ready body (`consumer_lag`) and on its /metrics
(`waypoint_consumer_lag{group,topic,partition}`).
"""

from __future__ import annotations

from waypoint_progress import config
from waypoint_progress.adapters.lag import LagWatch
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import SERVICES
from waypoint_shared.kafka_clients import group_consumer
from waypoint_shared.runtime import configure_logging, consumer_loop, relay_loop
from waypoint_shared.worker import Loop, Worker


def main() -> None:
    configure_logging()
    container = bootstrap(config.settings())
    settings, engine = container.settings, container.engine
    topics = [settings.topic_of(s) for s in SERVICES]
    lag = LagWatch(
        engine,
        settings.consumer_group,
        topics,
        lambda: group_consumer(settings.kafka, None, enable_auto_commit=False),
    )
    loops = [
        relay_loop(settings, engine, container.store),
        consumer_loop(settings, engine, topics, container.projector.handle),
        Loop(f"{settings.service}-lag", lag.run, details=lag.report),
    ]
    Worker(engine, loops, settings.worker_port, settings.worker_host).serve_forever()
