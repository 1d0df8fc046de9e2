"""Consumed payloads checked in C: msgspec types compiled once from the catalog's schemas.

Every consumer checks every record's payload as it travels (`validate_sealed`), and a rebuild
checks a whole history. Loading a payload through its marshmallow schema builds, converts and
collects per field in Python; `msgspec.convert` against a type compiled from the same schema
checks it in C. The type answers "valid" only for the plain form producers write: each field of
its JSON type exactly, each UUID of 32 hex digits, each date YYYY-MM-DD, each float finite, no
field the schema does not declare. What the type refuses goes through the schema, which decides
and words the error. What a type accepts its schema accepts too (the property tests of
`test_fast_checks.py` hold every type of the catalog to that), so the catalog stays the one
source of truth and only the cost of the answer changes.

A schema with rules of its own (hooks), fields read under another key or validators with no
form here compiles to no type: the schema always decides.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from marshmallow import RAISE, Schema, fields, validate

__all__ = ["conforms", "payload_type"]

_LARGEST = 1.7976931348623157e308  # a finite float's bounds: NaN and the infinities fail them

_KINDS: dict[type, Any] = {
    fields.String: str,
    fields.UUID: UUID,  # 32 hex digits, hyphenated or not, in either case: all forms uuid reads
    fields.Integer: int,
    fields.Float: float,  # kept finite by `_ruled`
    fields.Boolean: bool,
    fields.Date: date,
}


def conforms(value: Any, kind: Any) -> bool:
    """Whether `value` (made of JSON's types) is of the msgspec type `kind`."""
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def payload_type(schema: Schema, personal: tuple[str, ...]) -> Any:
    """The type of a payload as it travels: the schema's fields, any personal one a string or
    null, or missing (`validate_sealed` checks that each is sealed); None when the schema has no
    fast form. Compiled once per event type (`catalog._sealed_type`)."""
    return _struct(schema, personal, f"{type(schema).__name__}Sealed")


def _struct(schema: Schema, personal: Collection[str], name: str) -> Any:
    """A struct of the schema's declared fields (`personal` ones strings, and optional), no other
    field allowed; None when the schema or one of its fields has no fast form. Its attributes
    are numbered, each renamed to its field's name (a name such as `PHQ-9` is no identifier)."""
    if schema.unknown != RAISE or any(schema._hooks.values()):
        return None
    members: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field_name, field in schema.load_fields.items():
        if field_name in personal:
            continue
        kind = None if field.data_key is not None else _field_type(field)
        if kind is None:
            return None
        members.append((field_name, kind) if field.required else (field_name, kind, None))
    members += [(n, str | None, None) for n in personal]
    attributes = [(f"f{i}", *member[1:]) for i, member in enumerate(members)]
    rename = {f"f{i}": member[0] for i, member in enumerate(members)}
    return msgspec.defstruct(
        name, attributes, kw_only=True, forbid_unknown_fields=True, rename=rename, gc=False
    )


def _field_type(field: fields.Field[Any]) -> Any:
    """The type of one field's value, or None. A field whose values have no fast form still
    passes a null if it allows one: marshmallow loads a null of such a field as it is, before any
    of its rules (a goal's optional `target`, say)."""
    if type(field) is fields.Raw:  # anything, and a null only if the field allows one
        return Any if field.allow_none and not field.validators else None
    kind = _ruled(_kind(field), field.validators)
    if kind is None:
        return type(None) if field.allow_none else None
    return kind | None if field.allow_none else kind


def _kind(field: fields.Field[Any]) -> Any:
    if type(field) in _KINDS:
        return _KINDS[type(field)]
    if type(field) is fields.List:
        inner = _field_type(field.inner)
        return None if inner is None else list[inner]  # type: ignore[valid-type]
    if type(field) is fields.Nested and isinstance(field.schema, Schema) and not field.many:
        return _struct(field.schema, (), f"{type(field.schema).__name__}Nested")
    if type(field) is fields.Dict and field.key_field is None and field.value_field is None:
        return dict
    return None


def _ruled(kind: Any, validators: list[Any]) -> Any:
    """The kind narrowed by the field's validators (one of some strings, a numeric range; a
    float is always kept finite), or None when a validator has no form here."""
    if kind is None or len(validators) > 1:
        return None
    rule = validators[0] if validators else None
    if rule is None:
        return _bounded(float, None) if kind is float else kind
    if type(rule) is validate.OneOf and kind is str and all(type(c) is str for c in rule.choices):
        return Literal[tuple(rule.choices)]
    if type(rule) is validate.Range and kind in (int, float):
        limits = (rule.min, rule.max)
        if kind is int and any(type(x) is not int for x in limits if x is not None):
            return None
        return _bounded(kind, rule)
    return None


def _bounded(kind: type, rule: validate.Range | None) -> Any:
    bounds: dict[str, Any] = {"ge": -_LARGEST, "le": _LARGEST} if kind is float else {}
    if rule is not None and rule.min is not None:
        bounds.pop("ge", None)
        bounds["ge" if rule.min_inclusive else "gt"] = rule.min
    if rule is not None and rule.max is not None:
        bounds.pop("le", None)
        bounds["le" if rule.max_inclusive else "lt"] = rule.max
    return Annotated[kind, msgspec.Meta(**bounds)] if bounds else kind
