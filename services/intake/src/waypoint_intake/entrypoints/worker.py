"""Intake's worker: the outbox relay (intake listens to no topic) and a health listener."""

from __future__ import annotations

from waypoint_intake import config
from waypoint_intake.bootstrap import bootstrap
from waypoint_shared.runtime import configure_logging, relay_loop
from waypoint_shared.worker import Worker


def main() -> None:
    configure_logging()
    container = bootstrap(config.settings())
    loops = [relay_loop(container.settings, container.engine, container.store)]
    Worker(
        container.engine, loops, container.settings.worker_port, container.settings.worker_host
    ).serve_forever()
