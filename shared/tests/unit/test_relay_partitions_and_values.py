"""The relay's own shortcuts give what the general tools give: the partition it picks for a key
is the one kafka-python's default partitioner picks, and the CloudEvent value it writes is the
JSON object `json.dumps` writes for the same attributes, whatever the strings hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from kafka.cluster import ClusterMetadata
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from waypoint_shared.messaging import wire
from waypoint_shared.messaging.partitions import murmur2, partition_of


@given(st.binary(max_size=80))
def test_the_hash_is_kafkas_murmur2(key: bytes) -> None:
    assert murmur2(key) == kafka_murmur2(key)


class _Topic(ClusterMetadata):
    """Metadata naming one topic with the given partitions."""

    def __init__(self, partitions: list[int]):
        super().__init__()
        self._partitions = partitions

    def topics(self, exclude_internal_topics: bool = True) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(self._partitions)

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(self._partitions)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=24))
def test_a_key_goes_to_the_partition_the_default_partitioner_picks(key: bytes, count: int) -> None:
    partitions = list(range(count))
    expected = DefaultPartitioner().partition("t", key, key, b"", b"", _Topic(partitions))
    assert partition_of(key, partitions) == expected


@dataclass(frozen=True)
class _Row:
    event_id: str
    type: str
    client_id: str
    tenant_id: str
    stream_version: int


text = st.text(max_size=20)


@given(text, text, text, text, st.integers(0, 2**40), st.none() | text, st.none() | text)
def test_the_value_is_what_json_dumps_writes(
    event_id: str,
    type_: str,
    client_id: str,
    tenant_id: str,
    version: int,
    correlation_id: str | None,
    causation_id: str | None,
) -> None:
    row = _Row(event_id, type_, client_id, tenant_id, version)
    moment = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    value = wire.structured_value(row, "intake", moment, (correlation_id, causation_id), "{}")
    attributes = {
        "id": event_id,
        "source": "/waypoint/intake",
        "type": type_,
        "subject": client_id,
        "time": "2025-03-04T05:06:07.891011Z",
        "datacontenttype": "application/json",
        "dataschema": f"{wire.SCHEMA_BASE}/{type_}.json",
        "tenantid": tenant_id,
        "correlationid": correlation_id or event_id,
        "causationid": causation_id or event_id,
        "streamversion": version,
        "specversion": "1.0",
        "data": {},
    }
    assert value == json.dumps(attributes).encode()
