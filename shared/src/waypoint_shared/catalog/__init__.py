"""The event catalog: every event type, its version, its marshmallow schema, its personal fields.

Payloads are validated when produced (plain, before sealing) and when consumed (sealed: personal
fields arrive as ciphertext that only the producing service can open). A published version never
changes; a new version gets a new schema and an upcaster from the previous one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from waypoint_shared.catalog import checks, structs
from waypoint_shared.catalog.events import goals, intake, progress
from waypoint_shared.catalog.events.common import MODALITIES, PRIORITIES, EventType, Upcaster
from waypoint_shared.crypto.sealing import is_sealed

__all__ = ["CATALOG", "MODALITIES", "PRIORITIES", "EventType", "InvalidEvent"]


class InvalidEvent(ValueError):
    """A payload that does not match its catalog schema, or a type the catalog does not know."""


CATALOG: dict[str, EventType] = {
    t.type: t for t in (*intake.EVENT_TYPES, *goals.EVENT_TYPES, *progress.EVENT_TYPES)
}

# Full type string of an old version -> the function turning its payload into the next version's.
# Each producing service's module lists its own; `upcast` follows them to the newest version.
UPCASTERS: dict[str, Upcaster] = {**intake.UPCASTERS, **goals.UPCASTERS}


@cache
def _schema_of(entry: EventType) -> Schema:
    """One schema instance per event type: building a schema costs more than using it."""
    return entry.schema()


def lookup(event_type: str) -> EventType:
    """The catalog entry for a full type string such as `waypoint.intake.client_referred.v1`."""
    try:
        return CATALOG[event_type]
    except KeyError:
        raise InvalidEvent(f"unknown event type {event_type!r}") from None


def latest(service: str, name: str) -> EventType:
    """The newest version of an event type."""
    versions = [t for t in CATALOG.values() if t.service == service and t.name == name]
    if not versions:
        raise InvalidEvent(f"unknown event {service}.{name}")
    return max(versions, key=lambda t: t.version)


def validate_plain(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a payload before it is sealed; returns it as JSON-ready primitives."""
    schema = _schema_of(lookup(event_type))
    formed = checks.plain_form(schema)(data)
    if formed is not None:
        return formed  # what the schema's load and dump give, without them
    try:
        plain: dict[str, Any] = schema.dump(schema.load(data))
        return plain
    except ValidationError as error:
        raise InvalidEvent(f"{event_type}: {error.messages}") from error


def plain_form(event_type: str, values: dict[str, Any]) -> dict[str, Any] | None:
    """What `validate_plain` returns for values already in the form it writes (each field
    present, of its exact JSON type: `checks.plain_form`); None when the schema must decide."""
    return checks.plain_form(_schema_of(lookup(event_type)))(values)


@cache
def _string_fields(event_type: str) -> tuple[tuple[str, bool], ...]:
    """(name, is a UUID) of each field in the order `validate_plain` writes them, for a type whose
    fields are all strings or UUIDs with no further validator; empty for any other type."""
    declared = _schema_of(lookup(event_type)).dump_fields
    if any(type(f) not in (fields.String, fields.UUID) or f.validators for f in declared.values()):
        return ()
    return tuple((name, type(field) is fields.UUID) for name, field in declared.items())


def plain_strings(event_type: str, values: Any) -> dict[str, Any] | None:
    """What `validate_plain` returns for an object whose attributes are the type's fields, all
    strings and each UUID already canonical (lower case, hyphenated), without a schema pass;
    None when that does not hold (then `validate_plain` decides)."""
    order = _string_fields(event_type)
    plain = {name: getattr(values, name, None) for name, _ in order}
    for name, is_uuid in order:
        value = plain[name]
        if not isinstance(value, str) or (is_uuid and not checks.CANONICAL_UUID.fullmatch(value)):
            return None
    return plain if order else None


def validate_sealed(event_type: str, data: Any) -> dict[str, Any]:
    """Validate a payload as it travels: personal fields must be ciphertext, the rest must load."""
    entry = lookup(event_type)
    if not isinstance(data, dict):
        raise InvalidEvent(f"{event_type}: data must be an object")
    personal = entry.personal_fields
    not_sealed = [n for n in personal if data.get(n) is not None and not is_sealed(data[n])]
    if not_sealed:
        raise InvalidEvent(f"{event_type}: personal fields not encrypted: {not_sealed}")
    sealed_type = _sealed_type(event_type)
    if sealed_type is not None and structs.conforms(data, sealed_type):
        return data  # what the schema would accept too, in its plain form, checked in C
    rest = {k: v for k, v in data.items() if k not in personal}
    try:
        _schema_of(entry).load(rest, partial=personal)
    except ValidationError as error:
        raise InvalidEvent(f"{event_type}: {error.messages}") from error
    return data


@cache
def _sealed_type(event_type: str) -> Any:
    entry = lookup(event_type)
    return structs.payload_type(_schema_of(entry), entry.personal_fields)


def upcast(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Bring an old payload up to the newest version, one step at a time."""
    while event_type in UPCASTERS:
        event_type, data = UPCASTERS[event_type](data)
    return event_type, data


def describe(entry: EventType) -> dict[str, Any]:
    """A stable description of a schema, kept as a golden copy to guard compatibility."""
    return {"type": entry.type, "fields": _describe_fields(entry.schema._declared_fields)}


def _describe_fields(declared: dict[str, fields.Field[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in sorted(declared.items()):
        item: dict[str, Any] = {
            "kind": type(field).__name__,
            "required": field.required,
            "allow_none": field.allow_none,
            "personal": bool(field.metadata.get("personal")),
        }
        nested = field.nested if isinstance(field, fields.Nested) else None
        if isinstance(nested, type) and issubclass(nested, Schema):
            item["fields"] = _describe_fields(nested._declared_fields)
        if isinstance(field, fields.List):
            item["items"] = type(field.inner).__name__
        choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
        if choices:
            item["choices"] = sorted(choices[0])
        out[name] = item
    return out
