"""CloudEvents 1.0 in Kafka's structured mode, written directly: the record the relay publishes.

The value is the JSON object the CloudEvents SDK's JSON format writes for the same event (same
attributes, same order, `time` in RFC 3339 with `Z`, `data` last) and the content-type header is
`application/cloudevents+json`; the SDK reads it back in the contract tests. Writing it here
spares the SDK's per-event validation, and lets the relay place the stored `data` JSON text into
the value as it is, without decoding and encoding it again. The attributes are written as
`json.dumps` writes that object (each string quoted by the json module's own C quoting), the
parts that depend only on the service or the event type written once.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as quoted
from typing import Protocol

CONTENT_TYPE = "application/cloudevents+json"
CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
SCHEMA_BASE = "https://waypoint.example/schemas"


def rfc3339(moment: datetime) -> str:
    """A UTC time as CloudEvents writes it: ISO 8601 with `Z` for +00:00."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Identified(Protocol):
    """What a stored event (or the relay's row of one) says of itself."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def stream_version(self) -> int: ...


@functools.lru_cache(maxsize=64)
def _source(service: str) -> str:
    return quoted(f"/waypoint/{service}")


@functools.lru_cache(maxsize=1024)
def _typed(type_: str) -> tuple[str, str]:
    """The quoted type and the quoted data schema of an event type."""
    return quoted(type_), quoted(f"{SCHEMA_BASE}/{type_}.json")


def structured_value(
    event: Identified,
    service: str,
    occurred_at: datetime,
    trace: tuple[str | None, str | None],
    data_json: str,
) -> bytes:
    """The record's value; `trace` is (correlation id, causation id), `data_json` the event's
    data as a JSON object text."""
    correlation_id, causation_id = trace
    event_id = quoted(event.event_id)
    type_, schema = _typed(event.type)
    return (
        f'{{"id": {event_id}, "source": {_source(service)}, "type": {type_}, '
        f'"subject": {quoted(event.client_id)}, "time": {quoted(rfc3339(occurred_at))}, '
        f'"datacontenttype": "application/json", "dataschema": {schema}, '
        f'"tenantid": {quoted(event.tenant_id)}, '
        f'"correlationid": {quoted(correlation_id) if correlation_id else event_id}, '
        f'"causationid": {quoted(causation_id) if causation_id else event_id}, '
        f'"streamversion": {int(event.stream_version)}, "specversion": "1.0", '
        f'"data": {data_json}}}'
    ).encode()


def record(client_id: str, value: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A Kafka (key, value, headers): the key is the client id, so a client's events keep order."""
    return client_id.encode(), value, [CONTENT_TYPE_HEADER]
