"""Consumer lag per partition: records on the topics a consumer group has not applied yet.

Measured against the offsets stored in the service's database (the truth, docs/architecture.md
§5) with a consumer of its own that joins no group; shown in the worker's /health/ready body
(`consumer_lag`) and on its /metrics as `waypoint_consumer_lag{group,topic,partition}`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, select

from waypoint_shared.db.database import read
from waypoint_shared.db.tables import consumer_offsets
from waypoint_shared.observability.metrics import CONSUMER_LAG

__all__ = ["CONSUMER_LAG", "LagWatch", "measure_lag"]
log = logging.getLogger(__name__)
Position = tuple[str, int]


def stored_offsets(engine: Engine, group: str) -> dict[Position, int]:
    """The next offset the group will apply, per partition, as its database records it."""
    query = select(consumer_offsets).where(consumer_offsets.c.consumer_group == group)
    with read(engine) as conn:
        return {(r.topic, r.partition): r.next_offset for r in conn.execute(query)}


def measure_lag(
    consumer: KafkaConsumer, topics: list[str], stored: dict[Position, int]
) -> dict[Position, int]:
    """Lag of every partition now: end offset minus the next offset the group will apply."""
    partitions = [
        TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
    ]
    ends, starts = consumer.end_offsets(partitions), consumer.beginning_offsets(partitions)
    return {
        (tp.topic, tp.partition): max(
            0, ends[tp] - max(stored.get((tp.topic, tp.partition), 0), starts[tp])
        )
        for tp in partitions
    }


class LagWatch:
    """A worker loop that measures the lag every few seconds and exports it."""

    def __init__(
        self,
        engine: Engine,
        group: str,
        topics: list[str],
        consumer_factory: Callable[[], KafkaConsumer],
        interval: float = 5.0,
    ):
        self.engine, self.group, self.topics = engine, group, topics
        self.consumer_factory, self.interval = consumer_factory, interval
        self.lag: dict[Position, int] = {}

    def report(self) -> dict[str, object]:
        """The last measured lag, for /health/ready: {"consumer_lag": {"topic[partition]": n}}."""
        return {"consumer_lag": {f"{t}[{p}]": n for (t, p), n in sorted(self.lag.items())}}

    def measure(self, consumer: KafkaConsumer) -> dict[Position, int]:
        self.lag = measure_lag(consumer, self.topics, stored_offsets(self.engine, self.group))
        for (topic, partition), lag in self.lag.items():
            CONSUMER_LAG.labels(self.group, topic, str(partition)).set(lag)
        return self.lag

    def run(self, stop: threading.Event) -> None:
        consumer = None
        while not stop.is_set():
            try:
                consumer = consumer or self.consumer_factory()
                self.measure(consumer)
            except Exception as error:  # Kafka away: measure again later with a new client
                log.info("lag of %s not measured: %s", self.group, error)
                _closed(consumer)
                consumer = None
            stop.wait(self.interval)
        _closed(consumer)


def _closed(consumer: KafkaConsumer | None) -> None:
    if consumer is not None:
        consumer.close(autocommit=False)
