"""The checks and types compiled from the catalog never accept what the catalog's schemas refuse,
accept the plain form every producer writes, and answer what the schemas answer: the catalog stays
the one source of truth, whatever path a record takes."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from waypoint_shared import catalog
from waypoint_shared.catalog import checks, structs
from waypoint_shared.crypto.sealing import SEALED_PREFIX, is_sealed
from waypoint_shared.messaging import envelope

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "PHQ-9", "cbt", "2025-02-30", "2025-01-02", "20250102"]),
    st.sampled_from(["2025-01-02T03:04:05", "2025-01-02T03:04:05Z", "1.0", "/waypoint/intake\n"]),
    st.just(str(uuid.uuid4()).upper()),
    st.just(str(uuid.uuid4())),
    st.just(uuid.uuid4().hex),
    st.lists(st.integers(0, 3), max_size=3),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def plain_value(field: fields.Field[Any]) -> Any:
    """A value of the field in the form producers write it."""
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return next(iter(choices[0]))
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    samples: dict[type, Any] = {
        fields.String: "some text",
        fields.UUID: str(uuid.uuid4()),
        fields.Integer: ranges[0].min if ranges else 3,
        fields.Float: 2.5,
        fields.Boolean: True,
        fields.Date: "2025-01-02",
        fields.Raw: {"any": "thing"},
        fields.Dict: {"k": "v"},
    }
    if isinstance(field, fields.List):
        return [plain_value(field.inner)]
    if isinstance(field, fields.Nested):
        return plain_payload(field.schema)
    return samples[type(field)]


def plain_payload(schema: Schema, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {n: plain_value(f) for n, f in schema.load_fields.items() if n not in leave_out}


def schema_accepts(schema: Schema, payload: Any, personal: tuple[str, ...]) -> bool:
    try:
        schema.load(payload, partial=personal)
    except ValidationError:
        return False
    return True


TYPES = sorted(catalog.CATALOG)


def sealed_type_accepts(event_type: str, payload: Any) -> bool:
    """Whether the msgspec type compiled for the type's payloads as they travel accepts it."""
    entry = catalog.lookup(event_type)
    kind = structs.payload_type(entry.schema(), entry.personal_fields)
    return kind is not None and structs.conforms(payload, kind)


def spoil(payload: dict[str, Any], data: st.DataObject) -> None:
    """Leave out up to three fields, or give them odd values, or add one the schema lacks."""
    names = [*sorted(payload), "not_a_field"]
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
        if data.draw(st.booleans()):
            payload.pop(name, None)
        else:
            payload[name] = data.draw(ODD_VALUES)


def hooked(schema: Schema) -> bool:
    """Whether the schema or one nested in it has a rule of its own: the schema always decides."""
    nested = [f.inner if isinstance(f, fields.List) else f for f in schema.load_fields.values()]
    inner = [f.schema for f in nested if isinstance(f, fields.Nested)]
    return any(schema._hooks.values()) or any(hooked(s) for s in inner)


@pytest.mark.parametrize("event_type", TYPES)
def test_the_plain_form_of_every_type_passes_its_check_and_its_schema(event_type: str) -> None:
    entry = catalog.lookup(event_type)
    schema = entry.schema()
    payload = plain_payload(schema, entry.personal_fields)
    assert schema_accepts(schema, payload, entry.personal_fields)
    assert sealed_type_accepts(event_type, payload) is not hooked(schema)


def test_a_null_passes_the_check_of_a_field_whose_values_only_the_schema_can_check() -> None:
    """A goal's target has a rule of its own (its score must fit its instrument), so a target is
    always left to the schema; a goal proposed without one need not be."""
    proposed = "waypoint.goals.goal_proposed.v2"
    entry = catalog.lookup(proposed)
    schema = entry.schema()
    without_target = {**plain_payload(schema, entry.personal_fields), "target": None}
    with_target = {**without_target, "target": {"instrument": "PHQ-9", "score": 9.0}}
    assert sealed_type_accepts(proposed, without_target)
    assert schema_accepts(schema, without_target, entry.personal_fields)
    spoiled = {**with_target, "target": {**with_target["target"], "direction": "up"}}
    assert not sealed_type_accepts(proposed, spoiled)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(TYPES), st.data())
def test_a_check_never_accepts_what_the_schema_refuses(
    event_type: str, data: st.DataObject
) -> None:
    entry = catalog.lookup(event_type)
    schema = entry.schema()
    payload = plain_payload(schema, entry.personal_fields)
    spoil(payload, data)
    if sealed_type_accepts(event_type, payload):
        assert schema_accepts(schema, payload, entry.personal_fields)


def as_it_travels(event_type: str) -> dict[str, Any]:
    """A plain payload of the type with its personal fields sealed."""
    entry = catalog.lookup(event_type)
    payload = plain_payload(entry.schema())
    return {**payload, **{n: f"{SEALED_PREFIX}c2VhbGVk" for n in entry.personal_fields}}


def accepted_by_the_schema_alone(event_type: str, payload: dict[str, Any]) -> bool:
    """What `validate_sealed` answered before any type was compiled: each personal field sealed
    or null, and the schema's partial load of the rest."""
    entry = catalog.lookup(event_type)
    personal = entry.personal_fields
    if any(payload.get(n) is not None and not is_sealed(payload[n]) for n in personal):
        return False
    rest = {k: v for k, v in payload.items() if k not in personal}
    return schema_accepts(entry.schema(), rest, personal)


def accepted_as_it_travels(event_type: str, payload: dict[str, Any]) -> bool:
    try:
        catalog.validate_sealed(event_type, payload)
    except catalog.InvalidEvent:
        return False
    return True


@pytest.mark.parametrize("event_type", TYPES)
def test_every_type_as_it_travels_is_accepted_without_its_schema(event_type: str) -> None:
    payload = as_it_travels(event_type)
    hooks = hooked(catalog.lookup(event_type).schema())
    assert accepted_as_it_travels(event_type, payload)
    assert sealed_type_accepts(event_type, payload) is not hooks


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(TYPES), st.data())
def test_a_payload_as_it_travels_is_accepted_exactly_when_its_schema_accepts_it(
    event_type: str, data: st.DataObject
) -> None:
    payload = as_it_travels(event_type)
    spoil(payload, data)
    expected = accepted_by_the_schema_alone(event_type, payload)
    assert accepted_as_it_travels(event_type, payload) is expected


def dumped(schema: Schema, payload: Any) -> list[tuple[str, Any]] | None:
    """What the schema's load then dump gives, in its order; None when it refuses the payload."""
    try:
        return list(schema.dump(schema.load(payload)).items())
    except ValidationError:
        return None


def nested(schema: Schema) -> bool:
    inner = [f.inner if isinstance(f, fields.List) else f for f in schema.load_fields.values()]
    return any(isinstance(f, fields.Nested) for f in inner)


@pytest.mark.parametrize("event_type", TYPES)
def test_the_plain_form_of_every_type_is_written_as_its_schema_writes_it(event_type: str) -> None:
    schema = catalog.lookup(event_type).schema()
    payload = plain_payload(schema)
    written = checks.plain_form(schema)(payload)
    if hooked(schema) or nested(schema):
        assert written is None
        return
    assert written is not None and list(written.items()) == dumped(schema, payload)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(TYPES), st.data())
def test_a_payload_written_without_the_schema_is_written_as_the_schema_writes_it(
    event_type: str, data: st.DataObject
) -> None:
    schema = catalog.lookup(event_type).schema()
    payload = plain_payload(schema)
    spoil(payload, data)
    written = checks.plain_form(schema)(payload)
    if written is not None:
        assert list(written.items()) == dumped(schema, payload)
        assert catalog.validate_plain(event_type, payload) == written


def test_what_is_written_shares_no_list_or_object_with_the_payload() -> None:
    schema = catalog.lookup("waypoint.intake.client_referred.v2").schema()
    payload = plain_payload(schema)
    written = checks.plain_form(schema)(payload)
    assert written is not None
    assert written["presenting_concerns"] == payload["presenting_concerns"]
    assert written["presenting_concerns"] is not payload["presenting_concerns"]


GOOD = {
    "id": str(uuid.uuid4()),
    "source": "/waypoint/intake",
    "type": "waypoint.intake.client_referred.v2",
    "subject": str(uuid.uuid4()),
    "time": "2025-03-04T05:06:07.891011Z",
    "datacontenttype": "application/json",
    "tenantid": "clinic-a",
    "correlationid": "req-1",
    "causationid": "req-1",
    "streamversion": 1,
    "specversion": "1.0",
    "data": {"client_id": "x"},
}
ATTRIBUTES = [*sorted(GOOD), "dataschema"]


def by_schema(parsed: Any) -> dict[str, Any] | None:
    try:
        loaded = envelope._ENVELOPE.load(parsed)
    except ValidationError:
        return None
    return {**loaded, "id": str(loaded["id"]), "subject": str(loaded["subject"])}


def test_the_relays_envelope_is_read_without_the_schema_as_the_schema_reads_it() -> None:
    assert envelope._plain_attributes(dict(GOOD)) == by_schema(dict(GOOD))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_an_envelope_read_without_the_schema_is_one_the_schema_reads_the_same(
    data: st.DataObject,
) -> None:
    parsed = json.loads(json.dumps(GOOD))
    for name in data.draw(st.lists(st.sampled_from(ATTRIBUTES), min_size=1, max_size=3)):
        if data.draw(st.booleans()):
            parsed.pop(name, None)
        else:
            parsed[name] = data.draw(ODD_VALUES)
    fast = envelope._plain_attributes(parsed)
    if fast is not None:
        assert fast == by_schema(parsed)


@pytest.mark.parametrize(
    "name", ["milestone_reached.v1", "alert_raised.v1", "milestone_withdrawn.v1"]
)
def test_a_payload_of_strings_is_what_validate_plain_returns(name: str) -> None:
    event_type = f"waypoint.progress.{name}"
    values = plain_payload(catalog.lookup(event_type).schema())
    event = dataclasses.make_dataclass("Event", sorted(values))(**values)
    assert catalog.plain_strings(event_type, event) == catalog.validate_plain(event_type, values)
    assert list(catalog.plain_strings(event_type, event) or ()) == list(
        catalog.validate_plain(event_type, values)
    )  # the same keys in the same order: the same stored JSON


def test_a_uuid_not_in_canonical_form_is_left_to_validate_plain() -> None:
    event_type = "waypoint.progress.milestone_reached.v1"
    values = plain_payload(catalog.lookup(event_type).schema())
    values["milestone_id"] = values["milestone_id"].upper()
    event = dataclasses.make_dataclass("Event", sorted(values))(**values)
    assert catalog.plain_strings(event_type, event) is None
    assert catalog.plain_strings("waypoint.intake.client_referred.v2", event) is None
