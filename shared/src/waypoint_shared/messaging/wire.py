"""CloudEvents 1.0 in Kafka's structured mode, written directly: the record the relay publishes.

The value is the JSON object the CloudEvents SDK's JSON format writes for the same event (same
attributes, same order, `time` in RFC 3339 with `Z`, `data` last) and the content-type header is
`application/cloudevents+json`; the SDK reads it back in the contract tests. Writing it here
spares the SDK's per-event validation, and lets the relay place the stored `data` JSON text into
the value as it is, without decoding and encoding it again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

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
    event_id, type_ = event.event_id, event.type
    attributes: dict[str, Any] = {
        "id": event_id,
        "source": f"/waypoint/{service}",
        "type": type_,
        "subject": event.client_id,
        "time": rfc3339(occurred_at),
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}/{type_}.json",
        "tenantid": event.tenant_id,
        "correlationid": correlation_id or event_id,
        "causationid": causation_id or event_id,
        "streamversion": event.stream_version,
        "specversion": "1.0",
    }
    return f'{json.dumps(attributes)[:-1]}, "data": {data_json}}}'.encode()


def record(client_id: str, value: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A Kafka (key, value, headers): the key is the client id, so a client's events keep order."""
    return client_id.encode(), value, [CONTENT_TYPE_HEADER]
