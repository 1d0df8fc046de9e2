"""Reading whole topics from offset 0 without joining a consumer group (for a rebuild): the live
consumer group keeps its partitions while the rebuild reads."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from waypoint_shared.messaging.kafka_clients import known_position

Position = tuple[str, int]  # (topic, partition)


class TopicReader:
    """Reads assigned partitions in bounded batches up to target offsets: every partition of the
    topics, or only those numbered in `only`."""

    def __init__(
        self,
        consumer_factory: Callable[[], KafkaConsumer],
        topics: list[str],
        only: Collection[int] | None = None,
    ):
        self.consumer = consumer_factory()
        self.partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
            if only is None or p in only
        ]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)

    @property
    def broker_version(self) -> Any:
        """The broker's API version, as kafka-python worked it out (or was given it)."""
        return self.consumer.config["api_version"]

    def partition_counts(self) -> dict[str, int]:
        """How many partitions each topic has."""
        counts: dict[str, int] = {}
        for tp in self.partitions:
            counts[tp.topic] = counts.get(tp.topic, 0) + 1
        return counts

    def go_on_from(self, reached: Mapping[Position, int]) -> None:
        """Read on from these offsets (where other readers stopped)."""
        for tp in self.partitions:
            self.consumer.seek(tp, reached.get((tp.topic, tp.partition), 0))

    def end_offsets(self) -> dict[Position, int]:
        ends = self.consumer.end_offsets(self.partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    def positions(self) -> dict[Position, int]:
        return {
            (tp.topic, tp.partition): known_position(self.consumer, tp) for tp in self.partitions
        }

    def batches(self, targets: Mapping[Position, int]) -> Iterator[list[ConsumerRecord]]:
        """Batches of records until every partition's position reaches its target."""
        while any(self.positions()[p] < target for p, target in targets.items()):
            polled = self.consumer.poll(timeout_ms=500, max_records=200)
            records = [r for batch in polled.values() for r in batch]
            wanted = [r for r in records if r.offset < targets.get((r.topic, r.partition), 0)]
            if wanted:
                yield wanted
            self._rewind_past_targets(records, targets)

    def _rewind_past_targets(
        self, records: list[ConsumerRecord], targets: Mapping[Position, int]
    ) -> None:
        """Records past a target are left for a later round: seek back to the target."""
        for r in records:
            target = targets.get((r.topic, r.partition), 0)
            if r.offset >= target:
                self.consumer.seek(TopicPartition(r.topic, r.partition), target)

    def close(self) -> None:
        self.consumer.close(autocommit=False)
