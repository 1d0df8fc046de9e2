"""The Kafka envelope is a CloudEvents 1.0 structured record with no personal data outside `data`,
and decoding anything hostile fails as UndecodableRecord, never as anything else."""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event

from waypoint_shared import catalog
from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging import trust
from waypoint_shared.messaging.envelope import UndecodableRecord, decode, encode

REFERRED = "waypoint.intake.client_referred.v2"  # the newest: decode upcasts older ones
NAMES = ("Zoë", "Ångström-Okafor", "zoe.okafor@example.org", "EXT-778-secret", "panic at night")


def a_recorded_event(event_type: str, payload: dict[str, Any]) -> RecordedEvent:
    """An intake event as stored and relayed: validated, its personal fields sealed."""
    client_id, key = str(uuid.uuid4()), os.urandom(32)
    plain = catalog.validate_plain(event_type, {"client_id": client_id, **payload})
    personal = catalog.lookup(event_type).personal_fields
    place = Place("intake", "clinic-a", client_id, event_type, "")
    return RecordedEvent(
        position=7,
        event_id=str(uuid.uuid4()),
        tenant_id="clinic-a",
        stream_id=client_id,
        stream_version=1,
        client_id=client_id,
        type=event_type,
        schema_version=catalog.lookup(event_type).version,
        occurred_at=datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        data=seal_fields(key, place, plain, personal),
        metadata={"correlation_id": "req-1", "causation_id": "req-1", "actor": {"system": "x"}},
    )


def a_referral_event() -> RecordedEvent:
    return a_recorded_event(
        REFERRED,
        {
            "given_name": NAMES[0],
            "family_name": NAMES[1],
            "email": NAMES[2],
            "external_id": NAMES[3],
            "presenting_concerns": [NAMES[4]],
            "date_of_birth": "1991-04-02",
            "preferred_language": "de",
        },
    )


EVENT = a_referral_event()
KEY, VALUE, HEADERS = encode(EVENT, "intake")
GOOD = json.loads(VALUE)


def test_the_value_is_a_cloudevents_1_0_structured_record() -> None:
    parsed = from_structured_event(KafkaMessage(dict(HEADERS), KEY, VALUE))

    assert parsed.get_specversion() == "1.0"
    assert parsed.get_id() == EVENT.event_id
    assert parsed.get_source() == "/waypoint/intake"
    assert parsed.get_type() == REFERRED
    assert parsed.get_subject() == EVENT.client_id
    assert parsed.get_time() == EVENT.occurred_at
    assert parsed.get_datacontenttype() == "application/json"
    assert str(parsed.get_dataschema()).endswith(f"/{REFERRED}.json")
    assert parsed.get_extension("tenantid") == "clinic-a"
    assert parsed.get_extension("correlationid") == "req-1"
    assert parsed.get_extension("causationid") == "req-1"
    assert parsed.get_extension("streamversion") == 1
    assert parsed.get_data() == EVENT.data


def test_the_record_is_keyed_by_client_id_and_announces_structured_json() -> None:
    assert EVENT.client_id.encode() == KEY
    assert dict(HEADERS) == {"content-type": b"application/cloudevents+json"}


def test_no_personal_plaintext_appears_in_key_headers_or_value() -> None:
    for text in NAMES:
        for raw in (text.encode(), json.dumps(text).encode()):
            assert raw not in KEY
            assert all(raw not in name.encode() + value for name, value in HEADERS)
            assert raw not in VALUE


def test_decode_gives_back_what_was_encoded() -> None:
    envelope = decode(VALUE)

    assert envelope.event_id == EVENT.event_id
    assert envelope.source_service == "intake"
    assert envelope.type == REFERRED
    assert envelope.client_id == EVENT.client_id
    assert envelope.tenant_id == EVENT.tenant_id
    assert envelope.time == EVENT.occurred_at
    assert envelope.stream_version == 1
    assert envelope.correlation_id == "req-1"
    assert envelope.causation_id == "req-1"
    assert envelope.data == EVENT.data


def test_an_event_without_correlation_is_its_own_correlation_and_cause() -> None:
    event = RecordedEvent(**{**EVENT.__dict__, "metadata": {}})

    envelope = decode(encode(event, "intake")[1])

    assert envelope.correlation_id == envelope.causation_id == event.event_id


def changed(**attributes: object) -> bytes:
    record = dict(GOOD)
    for name, value in attributes.items():
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    return json.dumps(record).encode()


def with_text(old: str, new: str) -> bytes:
    assert old.encode() in VALUE
    return VALUE.replace(old.encode(), new.encode(), 1)


HOSTILE = {
    "empty value": b"",
    "none": None,
    "not json": b"hello, kafka",
    "truncated json": VALUE[: len(VALUE) // 2],
    "invalid utf-8": b"\xff\xfe\xfd" + VALUE,
    "utf-8 bom": b"\xef\xbb\xbf" + VALUE,
    "json array": b"[1, 2, 3]",
    "json string": b'"waypoint"',
    "json number": b"42",
    "json null": b"null",
    "json true": b"true",
    "json object that is no cloudevent": b'{"hello": "world"}',
    "missing specversion": changed(specversion=None),
    "missing id": changed(id=None),
    "missing time": changed(time=None),
    "missing source": changed(source=None),
    "missing type": changed(type=None),
    "unknown specversion": changed(specversion="9.9"),
    "numeric id": changed(id=5),
    "time that is no time": changed(time="yesterday"),
    "time that is a number": changed(time=5),
    "unknown type": changed(type="waypoint.intake.client_teleported.v1"),
    "payload failing its schema": changed(data={**GOOD["data"], "client_id": "nope"}),
    "payload that is not an object": changed(data="a string"),
    "no payload": changed(data=None),
    "binary payload": changed(data=None, data_base64="eyJ4IjogMX0="),
    "plain personal fields": changed(
        data={**GOOD["data"], "given_name": NAMES[0], "family_name": NAMES[1]}
    ),
    "missing tenant": changed(tenantid=None),
    "missing stream version": changed(streamversion=None),
    "stream version that is text": changed(streamversion="one"),
    "stream version that is infinite": with_text('"streamversion": 1', '"streamversion": Infinity'),
    "stream version that overflows": with_text('"streamversion": 1', '"streamversion": 1e400'),
    "stream version that is not a number": with_text('"streamversion": 1', '"streamversion": NaN'),
    "deeply nested arrays": b"[" * 100_000,
    "deeply nested objects": b'{"a":' * 100_000,
    "deeply nested payload": changed(data=None)[:-1] + b', "data": ' + b"[" * 100_000 + b"}",
    "huge string value": b'"' + b"x" * 5_000_000 + b'"',
    "huge type": changed(type="waypoint." + "x" * 5_000_000),
    "huge subject": changed(subject="x" * 5_000_000),
    "nul in subject": changed(subject=EVENT.client_id + "\x00"),
    "nul in tenant": changed(tenantid="clinic-a\x00"),
    "nul in type": changed(type=REFERRED + "\x00"),
    "lone surrogate in subject": with_text(
        f'"subject": "{EVENT.client_id}"', '"subject": "\\ud800"'
    ),
    "lone surrogate in tenant": with_text('"tenantid": "clinic-a"', '"tenantid": "\\udfff"'),
    "lone surrogate in type": with_text(f'"type": "{REFERRED}"', '"type": "\\ud800"'),
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_record_is_undecodable_and_raises_nothing_else(value: bytes) -> None:
    with pytest.raises(UndecodableRecord):
        decode(value)


def test_random_bytes_are_always_undecodable() -> None:
    rng = random.Random(20250304)
    for _ in range(400):
        value = rng.randbytes(rng.randint(1, 600))
        with pytest.raises(UndecodableRecord):
            decode(value)


def test_a_damaged_record_either_decodes_or_is_undecodable_never_anything_else() -> None:
    rng, refused = random.Random(42), 0
    for _ in range(400):
        damaged = bytearray(VALUE)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            decode(bytes(damaged))
        except UndecodableRecord:
            refused += 1
    assert refused > 0


# Intake's v1 events as published before v2, and what each gains when decoded: every new fact None.
V1_EVENTS: dict[str, tuple[dict[str, Any], dict[str, None]]] = {
    "client_referred": (
        {"given_name": "Kofi", "family_name": "Mensah", "date_of_birth": "2011-05-06"},
        {"referred_on": None, "age_group": None},
    ),
    "screening_recorded": (
        {
            "screening_id": str(uuid.uuid4()),
            "instrument": "PHQ-9",
            "items": [1] * 9,
            "total": 9,
            "severity": "mild",
        },
        {"administered_on": None},
    ),
    "client_discharged": ({"reason": "moved away"}, {"ending_reason": None, "discharged_on": None}),
}


@pytest.mark.parametrize("name", sorted(V1_EVENTS))
def test_a_v1_record_decodes_as_v2_with_each_new_fact_none_and_the_old_ones_kept(
    name: str,
) -> None:
    payload, gained = V1_EVENTS[name]
    event = a_recorded_event(f"waypoint.intake.{name}.v1", payload)

    envelope = decode(encode(event, "intake")[1])

    assert envelope.type == f"waypoint.intake.{name}.v2"
    assert envelope.data == {**event.data, **gained}


def test_a_v1_discharge_of_a_client_not_known_is_still_refused_after_the_upcast() -> None:
    discharged = a_recorded_event("waypoint.intake.client_discharged.v1", {"reason": "moved"})
    envelope = decode(encode(discharged, "intake")[1])

    error = trust.client_error(None, envelope, trust.no_client_known)  # type: ignore[arg-type]

    assert error is not None and error.startswith(trust.KNOWN_CLIENT_CHECK)
