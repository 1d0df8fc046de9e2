"""Explicit topic creation (docs/architecture.md §2): the event topics are the history and never
expire or compact; dead-letter topics keep 14 days. The broker itself never auto-creates topics.

Replication comes from the settings (WAYPOINT_TOPIC_REPLICATION_FACTOR and
WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS, 1 and 1 for one broker; 3 and 2 on a three-broker cluster, so
an `acks=all` write survives the loss of any one broker)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from waypoint_shared.config import (
    SERVICES,
    KafkaSettings,
    dead_letter_topic_of,
    shared_kafka_settings,
    topic_of,
)

log = logging.getLogger(__name__)
FOURTEEN_DAYS_MS = 14 * 24 * 3600 * 1000
EVENT_TOPIC_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}
DEAD_LETTER_CONFIG = {"retention.ms": str(FOURTEEN_DAYS_MS), "cleanup.policy": "delete"}
LISTENING_SERVICES = ("goals", "progress")


def suite_topics(settings: KafkaSettings) -> list[NewTopic]:
    """Every topic of the suite with its partitions, replication and retention."""

    def topic(name: str, config: dict[str, str]) -> NewTopic:
        replicated = {**config, "min.insync.replicas": str(settings.min_insync_replicas)}
        return NewTopic(
            name, settings.partitions, settings.replication_factor, topic_configs=replicated
        )

    prefix = settings.topic_prefix
    return [topic(topic_of(s, prefix), EVENT_TOPIC_CONFIG) for s in SERVICES] + [
        topic(dead_letter_topic_of(s, prefix), DEAD_LETTER_CONFIG) for s in LISTENING_SERVICES
    ]


def ensure_topics(settings: KafkaSettings, topics: list[NewTopic] | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    # client_options() mixes value types; kafka-python checks each keyword itself.
    options: dict[str, Any] = {**settings.client_options(), "request_timeout_ms": 10_000}
    admin = KafkaAdminClient(**options)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in (topics or suite_topics(settings)) if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("topics were created concurrently")
        return [t.name for t in missing]
    finally:
        admin.close()


def topics_cli(argv: list[str] | None = None) -> None:
    """`waypoint-topics`: create the suite's topics on the configured broker."""
    argparse.ArgumentParser(description="Create Waypoint's Kafka topics.").parse_args(argv)
    created = ensure_topics(shared_kafka_settings())
    print("created: " + (", ".join(created) or "nothing, all topics exist"))
