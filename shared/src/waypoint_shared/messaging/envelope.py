"""The Kafka envelope: CloudEvents 1.0, structured JSON mode, key = client id.

Attributes carry no personal data: personal fields stay sealed inside `data`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from waypoint_shared import catalog
from waypoint_shared.catalog import checks
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
        parsed = orjson.loads(value)
        attributes = _plain_attributes(parsed) or _ENVELOPE.load(parsed)
        type_, data = catalog.upcast(attributes["type"], attributes["data"])
        catalog.validate_sealed(type_, data)
    except (ValueError, TypeError, RecursionError, ValidationError) as error:
        # json and marshmallow messages name fields and positions, never the values themselves
        raise UndecodableRecord(f"not a valid Waypoint CloudEvent: {error}"[:500]) from error
    return Envelope(  # positional: a keyword call costs a third more, and every record makes one
        str(attributes["id"]),
        attributes["source"].rsplit("/", 1)[-1],
        type_,
        str(attributes["subject"]),
        attributes["tenantid"],
        attributes["time"],
        attributes["streamversion"],
        attributes["correlationid"],
        attributes["causationid"],
        data,
    )


_ENVELOPE = _EnvelopeSchema()
SOURCES = {f"/waypoint/{service}" for service in ("intake", "goals", "progress")}
TENANT = re.compile(TENANT_PATTERN[1:-1])
TRACE = re.compile(TRACE_PATTERN[1:-1])


def _plain_attributes(parsed: Any) -> dict[str, Any] | None:
    """The attributes as `_ENVELOPE.load` gives them, for an envelope in the plain form the relay
    writes (each attribute of its JSON type, UUIDs canonical, `time` in ISO 8601 with its
    offset); None for any other, which the schema then decides. No schema pass: the common
    record is checked attribute by attribute."""
    if not isinstance(parsed, dict) or parsed.get("specversion") != "1.0":
        return None
    get = parsed.get  # no generators below: every consumed record runs this
    id_, subject, type_, source = get("id"), get("subject"), get("type"), get("source")
    version, tenant, data = get("streamversion"), get("tenantid"), get("data")
    correlation, causation = get("correlationid"), get("causationid")
    plain = (
        isinstance(source, str)
        and source in SOURCES
        and checks.CANONICAL_UUID.fullmatch(id_ if isinstance(id_, str) else "")
        and checks.CANONICAL_UUID.fullmatch(subject if isinstance(subject, str) else "")
        and isinstance(type_, str)
        and len(type_) <= 128
        and isinstance(tenant, str)
        and TENANT.fullmatch(tenant)
        and type(version) is int
        and version >= 1
        and isinstance(data, dict)
        and _trace_id(correlation)
        and _trace_id(causation)
    )
    moment = _aware(get("time")) if plain else None
    if moment is None:
        return None
    return {
        "specversion": "1.0",
        "source": source,
        "type": type_,
        "subject": subject,
        "tenantid": tenant,
        "streamversion": version,
        "id": id_,
        "time": moment,
        "correlationid": correlation,
        "causationid": causation,
        "data": dict(parsed["data"]),
    }


def _trace_id(value: Any) -> bool:
    """A correlation or causation id as the schema takes it: none, or of TRACE_PATTERN."""
    return value is None or (isinstance(value, str) and TRACE.fullmatch(value) is not None)


def _aware(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset, as `fields.AwareDateTime` reads it; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and moment.utcoffset() is not None else None
