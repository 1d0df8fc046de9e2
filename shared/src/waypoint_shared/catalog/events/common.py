"""Building blocks of every service's event schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from marshmallow import Schema, fields, validate

MODALITIES = ("cbt", "psychodynamic", "mindfulness", "narrative", "act", "dbt", "other")
PRIORITIES = ("high", "medium", "low")
ROLES = ("client", "therapist", "clinician", "administrator", "guardian")
INSTRUMENTS = ("PHQ-9", "GAD-7", "ORS", "SRS")
PERSONAL = {"personal": True}
F = TypeVar("F", bound=fields.Field[Any])
# Turns one version's payload into the next version's: (payload) -> (next type, next payload).
Upcaster = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


def personal(field: F) -> F:
    """Mark a field as personal: sealed with the client's data key before it is stored."""
    field.metadata = {**field.metadata, **PERSONAL}
    return field


class ClientEvent(Schema):
    """An event about one client: the client id is the record key and the stream's subject."""

    client_id = fields.UUID(required=True)


class Party(Schema):
    """One of the two parties of the therapeutic work, by the integrator's id (never a name)."""

    role = fields.String(required=True, validate=validate.OneOf(("client", "therapist")))
    id = fields.String(required=True)


class Actor(Schema):
    """Whoever acted for the clinic or the client, by role and the integrator's id."""

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    id = fields.String(required=True)


class Change(Schema):
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


@dataclass(frozen=True)
class EventType:
    service: str
    name: str
    version: int
    schema: type[Schema]

    @cached_property
    def type(self) -> str:
        return f"waypoint.{self.service}.{self.name}.v{self.version}"

    @cached_property
    def personal_fields(self) -> tuple[str, ...]:
        declared = self.schema._declared_fields
        return tuple(n for n, f in declared.items() if f.metadata.get("personal"))


def adding(next_type: str, *names: str) -> Upcaster:
    """The upcaster to a version that only adds fields: an older event has each of them as None
    (what it did not say is not made up)."""

    def upcast(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return next_type, {**dict.fromkeys(names), **data}

    return upcast
