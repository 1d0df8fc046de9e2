"""Fast checks of produced payloads, compiled once from the catalog's schemas.

A producer validates every payload before it seals and stores it (`validate_plain`). Loading it
through the marshmallow schema and dumping it again builds, converts and collects per field; a
check compiled from the same schema only answers "valid" for the payloads of the common, plain
form: each field's JSON type exactly (a string, an int, a bool...), each UUID in canonical form,
each date as ISO 8601. What a check accepts the schema accepts too; whatever it does not accept
(another accepted form, or an invalid payload) goes through the schema, which decides and words
the error. So the catalog stays the one source of truth and the answer never changes, only its
cost. (Consumed payloads are checked against msgspec types compiled the same way: `structs`.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from copy import deepcopy
from datetime import date
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

Check = Callable[[Any], bool]
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def never(value: Any) -> bool:
    """The check of what has no fast form: the schema always decides."""
    return False


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and CANONICAL_UUID.fullmatch(value) is not None


def _is_integer(value: Any) -> bool:
    return type(value) is int


def _is_float(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _is_boolean(value: Any) -> bool:
    return type(value) is bool


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_null(value: Any) -> bool:
    return value is None


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _anything(value: Any) -> bool:
    return True


PLAIN: dict[type, Check] = {
    fields.String: _is_string,
    fields.UUID: _is_uuid,
    fields.Integer: _is_integer,
    fields.Float: _is_float,
    fields.Boolean: _is_boolean,
    fields.Date: _is_date,
    fields.Raw: _anything,
}


def field_check(field: fields.Field[Any]) -> Check:
    """The check of one field's value (present in the payload), or `never`. A field whose values
    have no fast form still passes a null if it allows one: marshmallow loads a null of such a
    field as it is, before any of its rules (a goal's optional `target`, say)."""
    kind = _kind_check(field)
    rules = [_validator_check(v) for v in field.validators]
    allow_none = field.allow_none
    if kind is never or never in rules:
        return _is_null if allow_none else never

    if not rules:  # most fields: the kind alone (one call, not a loop over no rules)

        def check_kind(value: Any) -> bool:
            return allow_none if value is None else kind(value)

        return check_kind

    def check(value: Any) -> bool:
        if value is None:
            return allow_none
        return kind(value) and all(rule(value) for rule in rules)

    return check


def _kind_check(field: fields.Field[Any]) -> Check:
    if type(field) in PLAIN:
        return PLAIN[type(field)]
    if type(field) is fields.List:
        return _list_check(field_check(field.inner))
    if type(field) is fields.Nested and isinstance(field.schema, Schema) and not field.many:
        return _object_check(field.schema)
    if type(field) is fields.Dict and field.key_field is None and field.value_field is None:
        return _is_object
    return never


def _list_check(inner: Check) -> Check:
    if inner is never:
        return never
    return lambda value: isinstance(value, list) and all(inner(item) for item in value)


def _validator_check(validator: Any) -> Check:
    if type(validator) is validate.OneOf:
        choices = validator.choices
        return lambda value: isinstance(value, str) and value in choices
    if type(validator) is validate.Range:
        return _range_check(validator)
    return never


def _range_check(rule: validate.Range) -> Check:
    def check(value: Any) -> bool:
        if type(value) not in (int, float):
            return False
        low = rule.min is None or value > rule.min or (rule.min_inclusive and value == rule.min)
        high = rule.max is None or value < rule.max or (rule.max_inclusive and value == rule.max)
        return low and high

    return check


def _object_check(schema: Schema) -> Check:
    """A payload's check: only declared fields, each required one present, each value passing."""
    declared = schema.load_fields
    if schema.unknown != RAISE or any(schema._hooks.values()):
        return never
    if any(f.data_key is not None for f in declared.values()):
        return never
    checks = {name: field_check(f) for name, f in declared.items()}
    required = [n for n, f in declared.items() if f.required]
    if never in checks.values():
        return never

    def check(value: Any) -> bool:  # loops, not generators: every produced event runs it
        if not isinstance(value, dict):
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            field = checks.get(name)
            if field is None or not field(item):
                return False
        return True

    return check


PlainForm = Callable[[dict[str, Any]], "dict[str, Any] | None"]


@cache
def plain_form(schema: Schema) -> PlainForm:
    """What `schema.dump(schema.load(payload))` gives, without the two passes, for a payload
    whose every declared field is present in the exact form the dump writes (a `str`, an `int`,
    a `float`, a `bool`, a canonical UUID or ISO date, lists of those, untyped objects): the
    fields in the schema's order, lists and objects copied. None for any other payload (then the
    schema decides), and always None for a schema with rules of its own or nested schemas."""
    declared = schema.load_fields
    if list(declared) != list(schema.dump_fields) or _object_check(schema) is never:
        return lambda payload: None
    checks = {name: field_check(f) for name, f in declared.items()}
    exact = {name: _exact_check(f) for name, f in declared.items()}
    if never in exact.values() or any(f.attribute is not None for f in declared.values()):
        return lambda payload: None
    names = set(declared)

    def form(payload: dict[str, Any]) -> dict[str, Any] | None:
        if payload.keys() != names:
            return None
        for name, value in payload.items():
            if not (checks[name](value) and exact[name](value)):
                return None
        return {n: _copied(payload[n]) for n in declared}

    return form


def _copied(value: Any) -> Any:
    return deepcopy(value) if isinstance(value, list | dict) else value


def _exact_check(field: fields.Field[Any]) -> Check:
    """Whether a value the field's check accepts is already what the field dumps once loaded."""
    kind = type(field)
    if isinstance(field, fields.List) and kind is fields.List:
        inner = _exact_check(field.inner)
        if inner is never:
            return never
        return lambda value: value is None or all(inner(item) for item in value)
    exact = _EXACT.get(kind, never)
    return exact if exact is never else lambda value: value is None or exact(value)


def _is_iso_date(value: Any) -> bool:
    return _is_date(value) and date.fromisoformat(value).isoformat() == value


_EXACT: dict[type, Check] = {
    fields.String: lambda value: type(value) is str,
    fields.UUID: lambda value: type(value) is str,
    fields.Integer: _anything,
    fields.Float: lambda value: type(value) is float,
    fields.Boolean: _anything,
    fields.Date: _is_iso_date,
    fields.Raw: lambda value: _is_json(value),
    fields.Dict: lambda value: _is_json(value),
}


def _is_json(value: Any) -> bool:
    """Whether a value is made of JSON's types only (what an object field dumps as it is)."""
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is list:
        return all(_is_json(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v) for k, v in value.items())
    return False
