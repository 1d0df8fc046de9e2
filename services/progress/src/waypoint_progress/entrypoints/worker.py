"""Progress's worker: the outbox relay, the timeline projector over every topic, its lag, health.

Lag per partition is in the worker's /health/ready body (`consumer_lag`) and on its /metrics
(`waypoint_consumer_lag{group,topic,partition}`); milestones reached are counted by rule
(`waypoint_milestones_reached_total`) as the projector appends them.
"""

from __future__ import annotations

from waypoint_progress import config
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import SERVICES
from waypoint_shared.messaging.worker import Worker
from waypoint_shared.observability.logs import configure_logging
from waypoint_shared.runtime import consumer_loop, lag_loop, relay_loop


def main() -> None:
    configure_logging("progress", "worker")
    container = bootstrap(config.settings())
    settings, engine, projector = container.settings, container.engine, container.projector
    topics = [settings.topic_of(s) for s in SERVICES]
    loops = [
        relay_loop(settings, engine, container.store),
        consumer_loop(
            settings,
            engine,
            topics,
            projector.handle,
            handle_batch=projector.handle_all,
            known_client=projector.knows,
        ),
        lag_loop(settings, engine, topics),
    ]
    Worker(engine, loops, settings.worker_port, settings.worker_host).serve_forever()
