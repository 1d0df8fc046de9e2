"""Wiring shared by every service's composition roots (web app and worker)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from flask import g
from sqlalchemy import Engine

from waypoint_shared.config import Settings, web_server_settings
from waypoint_shared.crypto.sealing import MasterKey, PersonalDataKeys
from waypoint_shared.db.database import Migration, connect, migrate
from waypoint_shared.eventstore.store import (
    SHARED_MIGRATIONS,
    CommitObserver,
    EventStore,
    observe_commits,
)
from waypoint_shared.http.auth import principal
from waypoint_shared.http.ratelimit import MIGRATIONS as RATE_LIMIT_MIGRATIONS
from waypoint_shared.messaging.consumer import ConsumerRunner, Handle, HandleBatch
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer
from waypoint_shared.messaging.lag import LagWatch
from waypoint_shared.messaging.relay import Relay, retry_forever
from waypoint_shared.messaging.topics import ensure_topics
from waypoint_shared.messaging.trust import KnownClient, no_client_known
from waypoint_shared.messaging.wakeup import MIGRATIONS as RELAY_MIGRATIONS
from waypoint_shared.messaging.worker import Loop
from waypoint_shared.observability.logs import configure_logging
from waypoint_shared.observability.metrics import (
    count_events,
    event_type,
    log_bulk_line,
    log_events,
    log_line,
)

__all__ = [
    "configure_logging",
    "consumer_loop",
    "lag_loop",
    "open_database",
    "personal_data_keys",
    "relay_loop",
    "request_metadata",
]
log = logging.getLogger(__name__)
# every service counts and logs the events it appends, once committed
EVENTS_COMMITTED = (
    CommitObserver(event_type, event_type, count_events),
    CommitObserver(log_line, log_bulk_line, log_events),
)


def open_database(
    settings: Settings,
    migrations: Sequence[Migration] = (),
    observers: Sequence[CommitObserver[Any]] = (),
) -> Engine:
    """The service's engine, with the shared and the service's own migrations applied; committed
    events are counted and logged, and handed to the service's own observers."""
    engine = connect(settings.database_url, web_server_settings().threads)  # one per thread
    observe_commits(engine, *EVENTS_COMMITTED, *observers)
    migrate(engine, [*SHARED_MIGRATIONS, *RATE_LIMIT_MIGRATIONS, *RELAY_MIGRATIONS, *migrations])
    return engine


def personal_data_keys(settings: Settings) -> PersonalDataKeys:
    """The service's data keys: its master key, and its name, which every wrap and seal binds."""
    return PersonalDataKeys(MasterKey(settings.master_key), settings.service)


def relay_loop(settings: Settings, engine: Engine, store: EventStore) -> Loop:
    """The outbox relay as a worker loop; it creates the suite's topics first if it must."""
    relay = Relay(
        engine,
        store,
        settings.service,
        settings.topic,
        producer_factory=lambda: durable_producer(settings.kafka),
    )

    topics_ready = threading.Event()

    def run(stop: threading.Event) -> None:
        if retry_forever(stop, "creating topics", lambda: ensure_topics(settings.kafka)):
            topics_ready.set()
            relay.run(stop)

    return Loop(f"{settings.service}-relay", run, ready=topics_ready.is_set)


def consumer_loop(
    settings: Settings,
    engine: Engine,
    topics: list[str],
    handle: Handle,
    handle_batch: HandleBatch | None = None,
    known_client: KnownClient = no_client_known,
    group: str | None = None,
    **consumer_options: Any,
) -> Loop:
    """The consumer runner as a worker loop; `known_client` is the service's look-up of whether it
    has a record of a client in a tenant (see waypoint_shared.messaging.trust); `group` is the
    service's consumer group unless given."""
    group = group or settings.consumer_group
    runner = ConsumerRunner(
        engine,
        group,
        topics,
        handle,
        consumer_factory=lambda: group_consumer(settings.kafka, group, **consumer_options),
        producer_factory=lambda: durable_producer(settings.kafka),
        dead_letter_topic=settings.dead_letter_topic,
        max_records=settings.consumer_batch,
        handle_batch=handle_batch,
        known_client=known_client,
    )

    def run(stop: threading.Event) -> None:
        if retry_forever(stop, "creating topics", lambda: ensure_topics(settings.kafka)):
            runner.run(stop)

    return Loop(f"{settings.service}-consumer", run, ready=lambda: runner.assigned)


def lag_loop(
    settings: Settings, engine: Engine, topics: list[str], group: str | None = None
) -> Loop:
    """The consumer group's lag per partition, on /metrics and in /health/ready's body; `group`
    is the service's consumer group unless given."""
    watch = LagWatch(
        engine,
        group or settings.consumer_group,
        topics,
        lambda: group_consumer(settings.kafka, None, enable_auto_commit=False),
    )
    return Loop(f"{settings.service}-lag", watch.run, details=watch.report)


def request_metadata(acting: dict[str, Any] | None = None) -> dict[str, Any]:
    """Who did this and as part of what: the write audit trail carried by every event. The
    request id is the service's own; the correlation id is the caller's X-Request-ID, if any."""
    request_id = g.get("request_id") or str(uuid.uuid4())
    return {
        "actor": {"system": principal().subject, "person": acting},
        "correlation_id": g.get("correlation_id") or request_id,
        "causation_id": request_id,
        "request_id": request_id,
    }
