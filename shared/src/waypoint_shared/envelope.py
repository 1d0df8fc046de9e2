"""The Kafka envelope: CloudEvents 1.0, structured JSON mode, key = client id.

Attributes carry no personal data: personal fields stay sealed inside `data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from waypoint_shared import catalog
from waypoint_shared.store import RecordedEvent

CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_BASE = "https://waypoint.example/schemas"
_FORMAT = JSONFormat()


class UndecodableRecord(ValueError):
    """A Kafka record that is not a valid Waypoint CloudEvent."""


@dataclass(frozen=True)
class Envelope:
    """A decoded event as another service sees it."""

    event_id: str
    source_service: str
    type: str
    client_id: str
    tenant_id: str
    time: datetime
    stream_version: int
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]


def encode(event: RecordedEvent, service: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A stored event as a Kafka (key, value, headers)."""
    attributes = {
        "id": event.event_id,
        "source": f"/waypoint/{service}",
        "type": event.type,
        "subject": event.client_id,
        "time": event.occurred_at,
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}/{event.type}.json",
        "tenantid": event.tenant_id,
        "correlationid": event.metadata.get("correlation_id") or event.event_id,
        "causationid": event.metadata.get("causation_id") or event.event_id,
        "streamversion": event.stream_version,
    }
    message = ce_kafka.to_structured_event(
        CloudEvent(attributes, event.data), _FORMAT, key_mapper=lambda e: e.get_subject()
    )
    headers = [(k, v) for k, v in message.headers.items()]
    return event.client_id.encode(), message.value, headers


def decode(value: bytes | None) -> Envelope:
    """Parse and validate a record's value; UndecodableRecord when it is not ours or not valid."""
    if not value:
        raise UndecodableRecord("empty record")
    try:
        event = _FORMAT.read(None, value)
    except (BaseCloudEventException, ValueError, TypeError, KeyError, RecursionError) as error:
        raise UndecodableRecord(f"not a CloudEvent: {error}") from error
    try:
        type_, data = catalog.upcast(event.get_type(), event.get_data())  # type: ignore[arg-type]
        catalog.validate_sealed(type_, data)
        return Envelope(
            event_id=event.get_id(),
            source_service=event.get_source().rsplit("/", 1)[-1],
            type=type_,
            client_id=str(event.get_subject()),
            tenant_id=str(event.get_extension("tenantid")),
            time=event.get_time(),  # type: ignore[arg-type]
            stream_version=int(event.get_extension("streamversion")),
            correlation_id=event.get_extension("correlationid"),
            causation_id=event.get_extension("causationid"),
            data=data,
        )
    except (catalog.InvalidEvent, TypeError, ValueError) as error:
        raise UndecodableRecord(str(error)) from error
