"""Intake's worker: the outbox relay (intake listens to no topic) and a health/metrics listener."""

from __future__ import annotations

from waypoint_intake import config
from waypoint_intake.bootstrap import bootstrap
from waypoint_shared.messaging.worker import Worker
from waypoint_shared.observability.logs import configure_logging
from waypoint_shared.runtime import relay_loop


def main() -> None:
    configure_logging("intake", "worker")
    container = bootstrap(config.settings())
    loops = [relay_loop(container.settings, container.engine, container.store)]
    Worker(
        container.engine, loops, container.settings.worker_port, container.settings.worker_host
    ).serve_forever()
