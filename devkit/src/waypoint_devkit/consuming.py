"""A service's consumer runner as the tests drive it: the service's own group, topics and
dead-letter topic, with a short session so a stopped consumer's partitions move quickly."""

from __future__ import annotations

from sqlalchemy import Engine

from waypoint_shared.config import Settings
from waypoint_shared.messaging import trust
from waypoint_shared.messaging.consumer import ConsumerRunner, Handle
from waypoint_shared.messaging.kafka_clients import durable_producer, group_consumer


def consumer_runner(
    settings: Settings,
    engine: Engine,
    sources: list[str],
    handle: Handle,
    known_client: trust.KnownClient,
) -> ConsumerRunner:
    """The runner of the service these settings are of, reading the topics of `sources`."""
    return ConsumerRunner(
        engine,
        settings.consumer_group,
        [settings.topic_of(source) for source in sources],
        handle,
        consumer_factory=lambda: group_consumer(
            settings.kafka,
            settings.consumer_group,
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
        ),
        producer_factory=lambda: durable_producer(settings.kafka),
        dead_letter_topic=settings.dead_letter_topic,
        known_client=known_client,
    )
