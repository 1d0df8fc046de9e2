"""The relay writes CloudEvents itself; the CloudEvents SDK is the reference: for the same event
it would write the same bytes, and it reads what the relay writes back to the same event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import SCHEMA_BASE, encode

FORMAT = JSONFormat()


def an_event(occurred_at: datetime, metadata: dict[str, object]) -> RecordedEvent:
    client_id = str(uuid.uuid4())
    return RecordedEvent(
        position=3,
        event_id=str(uuid.uuid4()),
        tenant_id="clinic-a",
        stream_id=client_id,
        stream_version=4,
        client_id=client_id,
        type="waypoint.intake.client_referred.v2",
        schema_version=2,
        occurred_at=occurred_at,
        data={"client_id": client_id, "given_name": {"sealed": "Zoë ✓"}, "n": [1, 2.5, None]},
        metadata=metadata,
    )


def as_the_sdk_writes_it(event: RecordedEvent, service: str) -> ce_kafka.KafkaMessage:
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
    return ce_kafka.to_structured_event(
        CloudEvent(attributes, event.data), FORMAT, key_mapper=lambda e: e.get_subject()
    )


EVENTS = [
    an_event(datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC), {"correlation_id": "req-1"}),
    an_event(datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC), {"causation_id": "req-2"}),
    an_event(datetime(2025, 3, 4, 5, 6, 7, 5, tzinfo=UTC), {}),
]


@pytest.mark.parametrize("event", EVENTS)
def test_the_relay_writes_the_bytes_the_sdk_writes(event: RecordedEvent) -> None:
    key, value, headers = encode(event, "intake")
    reference = as_the_sdk_writes_it(event, "intake")
    assert value == reference.value
    assert dict(headers) == reference.headers
    assert key == event.client_id.encode()


@pytest.mark.parametrize("event", EVENTS)
def test_the_sdk_reads_back_the_event_the_relay_wrote(event: RecordedEvent) -> None:
    key, value, headers = encode(event, "intake")
    read = ce_kafka.from_structured_event(ce_kafka.KafkaMessage(dict(headers), key, value), FORMAT)
    assert read.get_attributes() == {
        "specversion": "1.0",
        "id": event.event_id,
        "source": "/waypoint/intake",
        "type": event.type,
        "subject": event.client_id,
        "time": event.occurred_at,
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}/{event.type}.json",
        "tenantid": "clinic-a",
        "correlationid": event.metadata.get("correlation_id") or event.event_id,
        "causationid": event.metadata.get("causation_id") or event.event_id,
        "streamversion": 4,
        "partitionkey": event.client_id,
    }
    assert read.get_data() == event.data


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    moment = datetime(2025, 3, 4, 7, 6, 7, 1, tzinfo=timezone(timedelta(hours=2)))
    _, value, _ = encode(an_event(moment, {}), "goals")
    read = FORMAT.read(None, value)
    assert read.get_time() == moment
    assert b'"time": "2025-03-04T05:06:07.000001Z"' in value
