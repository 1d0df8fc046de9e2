"""kafka-python clients with the suite's durability settings, built only where they are used
(after fork, in the worker process), never at import time."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaTimeoutError

from waypoint_shared.config import KafkaSettings


def durable_producer(settings: KafkaSettings, **overrides: Any) -> KafkaProducer:
    """A producer that waits for all in-sync replicas and never writes a retry twice."""
    options: dict[str, Any] = {
        **settings.client_options(),
        "acks": "all",
        "enable_idempotence": True,
        "allow_auto_create_topics": False,
        "linger_ms": 5,
        "max_block_ms": 5_000,
        "request_timeout_ms": 10_000,
        "delivery_timeout_ms": 30_000,
        "reconnect_backoff_max_ms": 2_000,
    }
    return KafkaProducer(**{**options, **overrides})


def group_consumer(settings: KafkaSettings, group: str | None, **overrides: Any) -> KafkaConsumer:
    """A consumer whose offsets live in the service database, not in auto-commits."""
    options: dict[str, Any] = {
        **settings.client_options(),
        "group_id": group,
        # Kafka's range assignor gives each member the same partition numbers of every topic (the
        # topics have as many partitions), so all of a client's events, keyed by client id, are
        # applied by one member: two members deriving one client's timeline at once would each
        # miss the other's new facts. It is also eager, as `ConsumerRunner` needs. kafka-python's
        # default lists it first; named alone, no member can agree on another.
        "partition_assignment_strategy": (RangePartitionAssignor,),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "allow_auto_create_topics": False,
        "max_poll_records": 200,
        # the broker answers a fetch as soon as a record arrives (fetch_min_bytes 1); an idle
        # consumer's fetch waits up to this long for one, so a longer wait only means fewer
        # empty round trips while nothing happens
        "fetch_max_wait_ms": 2_000,
        "max_poll_interval_ms": 300_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "reconnect_backoff_max_ms": 2_000,
    }
    return KafkaConsumer(**{**options, **overrides})


def known_position(consumer: KafkaConsumer, partition: TopicPartition) -> int:
    """The consumer's next offset on an assigned partition; kafka-python answers None when its
    offset look-ups did not finish, which is an error here, never an offset."""
    position = consumer.position(partition)
    if position is None:
        raise KafkaTimeoutError(f"the position on {partition} is not known")
    return position
