"""The event catalog: every event type, its version, its marshmallow schema, its personal fields.

Payloads are validated when produced (plain, before sealing) and when consumed (sealed: personal
fields arrive as ciphertext that only the producing service can open). A published version never
changes; a new version gets a new schema and an upcaster from the previous one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from waypoint_shared.crypto import is_sealed

MODALITIES = ("cbt", "psychodynamic", "mindfulness", "narrative", "act", "dbt", "other")
PRIORITIES = ("high", "medium", "low")
PERSONAL = {"personal": True}


class InvalidEvent(ValueError):
    """A payload that does not match its catalog schema, or a type the catalog does not know."""


class ClientReferredV1(Schema):
    client_id = fields.UUID(required=True)
    given_name = fields.String(required=True, metadata=PERSONAL)
    family_name = fields.String(required=True, metadata=PERSONAL)
    preferred_name = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    pronouns = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    date_of_birth = fields.String(required=True, metadata=PERSONAL)
    email = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    phone = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    external_id = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    presenting_concerns = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    preferred_language = fields.String(allow_none=True, load_default=None)
    interpreter_needed = fields.Boolean(load_default=False)
    referral_source = fields.String(allow_none=True, load_default=None)


class Party(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("client", "therapist")))
    id = fields.String(required=True)


class MeasurableTarget(Schema):
    instrument = fields.String(required=True)
    below = fields.Float(required=True)


class GoalProposedV1(Schema):
    goal_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    title = fields.String(required=True, metadata=PERSONAL)
    description = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    why_it_matters = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    strengths = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    addresses = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    target_date = fields.Date(allow_none=True, load_default=None)
    target = fields.Nested(MeasurableTarget, allow_none=True, load_default=None)
    proposed_by = fields.Nested(Party, required=True)


class MilestoneReachedV1(Schema):
    milestone_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    rule = fields.String(required=True)
    title = fields.String(required=True)
    reached_at = fields.String(required=True)
    source_service = fields.String(required=True)
    source_event_id = fields.UUID(required=True)


@dataclass(frozen=True)
class EventType:
    service: str
    name: str
    version: int
    schema: type[Schema]

    @property
    def type(self) -> str:
        return f"waypoint.{self.service}.{self.name}.v{self.version}"

    @property
    def personal_fields(self) -> tuple[str, ...]:
        declared = self.schema._declared_fields
        return tuple(n for n, f in declared.items() if f.metadata.get("personal"))


CATALOG: dict[str, EventType] = {
    t.type: t
    for t in (
        EventType("intake", "client_referred", 1, ClientReferredV1),
        EventType("goals", "goal_proposed", 1, GoalProposedV1),
        EventType("progress", "milestone_reached", 1, MilestoneReachedV1),
    )
}

# (type, version) -> function turning that version's payload into the next version's.
UPCASTERS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {}


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
    schema = lookup(event_type).schema()
    try:
        return schema.dump(schema.load(data))
    except ValidationError as error:
        raise InvalidEvent(f"{event_type}: {error.messages}") from error


def validate_sealed(event_type: str, data: Any) -> dict[str, Any]:
    """Validate a payload as it travels: personal fields must be ciphertext, the rest must load."""
    entry = lookup(event_type)
    if not isinstance(data, dict):
        raise InvalidEvent(f"{event_type}: data must be an object")
    personal = entry.personal_fields
    not_sealed = [n for n in personal if data.get(n) is not None and not is_sealed(data[n])]
    if not_sealed:
        raise InvalidEvent(f"{event_type}: personal fields not encrypted: {not_sealed}")
    rest = {k: v for k, v in data.items() if k not in personal}
    try:
        entry.schema().load(rest, partial=personal)
    except ValidationError as error:
        raise InvalidEvent(f"{event_type}: {error.messages}") from error
    return data


def upcast(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Bring an old payload up to the newest version, one step at a time."""
    while event_type in UPCASTERS:
        event_type, data = UPCASTERS[event_type](data)
    return event_type, data


def describe(entry: EventType) -> dict[str, Any]:
    """A stable description of a schema, kept as a golden copy to guard compatibility."""
    return {"type": entry.type, "fields": _describe_fields(entry.schema._declared_fields)}


def _describe_fields(declared: dict[str, fields.Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in sorted(declared.items()):
        item: dict[str, Any] = {
            "kind": type(field).__name__,
            "required": field.required,
            "allow_none": field.allow_none,
            "personal": bool(field.metadata.get("personal")),
        }
        if isinstance(field, fields.Nested) and isinstance(field.nested, type):
            item["fields"] = _describe_fields(field.nested._declared_fields)
        if isinstance(field, fields.List):
            item["items"] = type(field.inner).__name__
        choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
        if choices:
            item["choices"] = sorted(choices[0])
        out[name] = item
    return out
