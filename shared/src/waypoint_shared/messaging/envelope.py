"""The Kafka envelope: CloudEvents 1.0, structured JSON mode, key = client id.

Attributes carry no personal data: personal fields stay sealed inside `data`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from waypoint_shared import catalog
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging import wire

CONTENT_TYPE = wire.CONTENT_TYPE
SCHEMA_BASE = wire.SCHEMA_BASE
SOURCE_PATTERN = r"^/waypoint/(intake|goals|progress)$"
TENANT_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
TRACE_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


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
    trace = (event.metadata.get("correlation_id"), event.metadata.get("causation_id"))
    value = wire.structured_value(event, service, event.occurred_at, trace, json.dumps(event.data))
    return wire.record(event.client_id, value)


class _EnvelopeSchema(Schema):
    """The attributes a Waypoint CloudEvent must carry; nothing is made up when one is missing."""

    class Meta:
        unknown = EXCLUDE  # other extensions may be added by later versions

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.UUID(required=True)
    source = fields.String(required=True, validate=validate.Regexp(SOURCE_PATTERN))
    type = fields.String(required=True, validate=validate.Length(max=128))
    subject = fields.UUID(required=True)
    time = fields.AwareDateTime(required=True)
    tenantid = fields.String(required=True, validate=validate.Regexp(TENANT_PATTERN))
    streamversion = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    correlationid = fields.String(load_default=None, validate=validate.Regexp(TRACE_PATTERN))
    causationid = fields.String(load_default=None, validate=validate.Regexp(TRACE_PATTERN))
    data = fields.Dict(required=True)


def decode(value: bytes | None) -> Envelope:
    """Parse and validate a record's value; UndecodableRecord when it is not ours or not valid."""
    if not value:
        raise UndecodableRecord("empty record")
    try:
        attributes = _ENVELOPE.load(json.loads(value.decode("utf-8")))
        type_, data = catalog.upcast(attributes["type"], attributes["data"])
        catalog.validate_sealed(type_, data)
    except (ValueError, TypeError, RecursionError, ValidationError) as error:
        # json and marshmallow messages name fields and positions, never the values themselves
        raise UndecodableRecord(f"not a valid Waypoint CloudEvent: {error}"[:500]) from error
    return Envelope(
        event_id=str(attributes["id"]),
        source_service=attributes["source"].rsplit("/", 1)[-1],
        type=type_,
        client_id=str(attributes["subject"]),
        tenant_id=attributes["tenantid"],
        time=attributes["time"],
        stream_version=attributes["streamversion"],
        correlation_id=attributes["correlationid"],
        causation_id=attributes["causationid"],
        data=data,
    )


_ENVELOPE = _EnvelopeSchema()
