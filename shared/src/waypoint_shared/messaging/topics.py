"""Explicit topic creation (docs/architecture.md §2): the event topics are the history and never
expire or compact; dead-letter topics keep 14 days. The broker itself never auto-creates topics.

Replication comes from the settings (WAYPOINT_TOPIC_REPLICATION_FACTOR and
WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS, 1 and 1 for one broker; 3 and 2 on a three-broker cluster, so
an `acks=all` write survives the loss of any one broker).

Partitions come from WAYPOINT_TOPIC_PARTITIONS. Raised above what a topic has, `waypoint-topics`
adds partitions to it; it never removes any (Kafka cannot). Adding partitions moves keys, and so
clients, to other partitions: docs/operations.md "Raising the partition count" says what that does
to per-client order and how to do it safely."""

from __future__ import annotations

import argparse
import logging
import time
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
    """Create the topics that do not exist yet, and wait until the brokers' metadata shows
    them with their partitions; returns the names created. (A consumer that joined its group
    while the metadata it was given still lacked a topic just created was assigned none of its
    partitions, and did not look again for minutes.)"""
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
            _await_partitions(admin, {t.name: t.num_partitions for t in missing})
        return [t.name for t in missing]
    finally:
        admin.close()


def add_partitions(
    settings: KafkaSettings, topics: list[NewTopic] | None = None
) -> dict[str, tuple[int, int]]:
    """Raise each existing topic with fewer partitions than wanted to the wanted count (never
    lower one); returns topic -> (partitions before, partitions now) for every topic examined.
    Needs Alter on the topics: the admin principal's tool, not the services' start-up."""
    wanted = {t.name: t.num_partitions for t in (topics or suite_topics(settings))}
    options: dict[str, Any] = {**settings.client_options(), "request_timeout_ms": 10_000}
    admin = KafkaAdminClient(**options)
    try:
        _await_partitions(admin, dict.fromkeys(wanted, 1))  # those just created, too
        existing = _partition_counts(admin, list(wanted))
        raised = {name: wanted[name] for name, count in existing.items() if count < wanted[name]}
        if raised:
            admin.create_partitions(raised)
            _await_partitions(admin, raised)
        return {name: (count, max(count, wanted[name])) for name, count in existing.items()}
    finally:
        admin.close()


def _partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = admin.describe_topics(names)
    return {t["name"]: len(t["partitions"]) for t in described if t["partitions"]}


def _await_partitions(admin: KafkaAdminClient, wanted: dict[str, int], timeout: float = 30) -> None:
    """Until the brokers' metadata shows the topics with their partitions (so that a rerun, or
    the next command, sees them too)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = _partition_counts(admin, list(wanted))
        if all(counts.get(name, 0) >= count for name, count in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"partitions not visible after {timeout}s: {wanted}")
        time.sleep(0.2)


def prepare_topics(settings: KafkaSettings) -> list[str]:
    """Create the missing topics and raise the partitions of the others; lines to print."""
    created = ensure_topics(settings)
    lines = ["created: " + (", ".join(created) or "nothing, all topics exist")]
    for name, (before, now) in sorted(add_partitions(settings).items()):
        if name in created:
            continue
        if now > before:
            lines.append(f"partitions: {name} {before} -> {now}")
        elif before > settings.partitions:
            lines.append(
                f"partitions: {name} keeps {before} (more than {settings.partitions}; "
                "partitions are never removed)"
            )
    return lines


def topics_cli(argv: list[str] | None = None) -> None:
    """`waypoint-topics`: create the suite's topics on the configured broker, or add partitions
    to those that have fewer than WAYPOINT_TOPIC_PARTITIONS."""
    description = "Create Waypoint's Kafka topics; raise their partitions to the setting."
    argparse.ArgumentParser(description=description).parse_args(argv)
    print("\n".join(prepare_topics(shared_kafka_settings())))
