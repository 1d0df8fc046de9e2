"""Raising WAYPOINT_TOPIC_PARTITIONS on a live broker: the topic tool adds partitions, never
removes any, and what that does to keys (docs/operations.md "Raising the partition count")."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient
from kafka.partitioner.default import murmur2

from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import KafkaSettings
from waypoint_shared.messaging.topics import prepare_topics, suite_topics

pytestmark = pytest.mark.kafka


def partition_counts(settings: KafkaSettings) -> dict[str, int]:
    names = [t.name for t in suite_topics(settings)]
    options: dict[str, Any] = dict(settings.client_options())
    admin = KafkaAdminClient(**options)
    try:
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()


def visible_with_three_partitions(settings: KafkaSettings) -> None:
    """The fixture's new topics, once every broker's metadata shows them."""
    every = {t.name: 3 for t in suite_topics(settings)}
    wait_until(lambda: partition_counts(settings) == every, what="the topics' metadata")


def test_a_higher_setting_adds_partitions_to_every_existing_topic(
    kafka_settings: KafkaSettings,
) -> None:
    visible_with_three_partitions(kafka_settings)
    raised = dataclasses.replace(kafka_settings, partitions=6)

    lines = prepare_topics(raised)

    assert lines[0] == "created: nothing, all topics exist"
    assert len(lines) == 1 + len(suite_topics(raised))
    assert all(line.endswith(" 3 -> 6") for line in lines[1:]), lines
    assert set(partition_counts(kafka_settings).values()) == {6}
    assert prepare_topics(raised) == ["created: nothing, all topics exist"]  # idempotent


def test_a_lower_setting_never_removes_partitions(kafka_settings: KafkaSettings) -> None:
    visible_with_three_partitions(kafka_settings)
    lowered = dataclasses.replace(kafka_settings, partitions=1)

    lines = prepare_topics(lowered)

    assert set(partition_counts(kafka_settings).values()) == {3}
    assert len(lines) == 1 + len(suite_topics(lowered))
    assert all("keeps 3 (more than 1; partitions are never removed)" in x for x in lines[1:])


def test_more_partitions_move_some_clients_to_another_partition() -> None:
    # The producer's partitioner: murmur2 of the key (the client id) modulo the partition count.
    keys = [f"client-{n}".encode() for n in range(100)]
    moved = [k for k in keys if (murmur2(k) & 0x7FFFFFFF) % 3 != (murmur2(k) & 0x7FFFFFFF) % 6]
    assert 0 < len(moved) < len(keys)
