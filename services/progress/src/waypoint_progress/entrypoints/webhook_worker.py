"""Progress's webhook delivery worker, `waypoint-progress-webhooks`: a process of its own beside
the projector's worker, so no receiver can slow the timeline.

Its consumer reads `waypoint.progress.events` in a group of its own (`waypoint-progress-webhooks`)
and records one delivery per subscription and event; its dispatcher sends the due ones. Health
and metrics (`waypoint_webhook_*`, and the group's `waypoint_consumer_lag`) on
PROGRESS_WEBHOOK_WORKER_PORT (8203).
"""

from __future__ import annotations

from waypoint_progress import config
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.service_layer.webhook_delivery import Dispatcher
from waypoint_shared.config import Settings
from waypoint_shared.messaging.worker import Loop, Worker
from waypoint_shared.runtime import configure_logging, consumer_loop, lag_loop


def consumer_group(settings: Settings) -> str:
    return f"{settings.consumer_group}-webhooks"


def loops(container: Container) -> list[Loop]:
    """The consumer that records deliveries, its lag, and the dispatcher that sends them."""
    settings, hooks = container.settings, container.webhooks
    group = consumer_group(settings)
    recording = consumer_loop(
        settings,
        container.engine,
        [settings.topic],
        lambda conn, event: hooks.record(conn, [event]),
        handle_batch=hooks.record,
        known_client=container.projector.knows,
        group=group,
    )
    lag = lag_loop(settings, container.engine, [settings.topic], group)
    dispatcher = Dispatcher(container.engine, hooks)
    return [recording, lag, Loop("progress-webhook-dispatcher", dispatcher.run)]


def main() -> None:
    settings = config.settings()
    configure_logging("progress", "webhooks", settings.log_level)
    container = bootstrap(settings)
    port = config.webhook_settings(settings).worker_port
    Worker(container.engine, loops(container), port, settings.worker_host).serve_forever()
