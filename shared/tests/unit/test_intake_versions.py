"""Intake's second versions: producers emit v2, a v1 payload is upcast to v2 on decode with each
new fact None (nothing made up), and the upcasters each lead one version up the same event."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from waypoint_shared import catalog
from waypoint_shared.catalog import InvalidEvent, golden
from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging import trust
from waypoint_shared.messaging.envelope import decode, encode

V1_PAYLOADS: dict[str, tuple[dict[str, Any], dict[str, None]]] = {
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
    "client_discharged": (
        {"reason": "moved away"},
        {"ending_reason": None, "discharged_on": None},
    ),
}


def recorded_v1(name: str) -> RecordedEvent:
    """A v1 event as intake stored and published it before v2, personal fields sealed."""
    event_type, client_id = f"waypoint.intake.{name}.v1", str(uuid.uuid4())
    plain = catalog.validate_plain(event_type, {"client_id": client_id, **V1_PAYLOADS[name][0]})
    personal = catalog.lookup(event_type).personal_fields
    place = Place("intake", "clinic-a", client_id, event_type, "")
    data = seal_fields(os.urandom(32), place, plain, personal)
    return RecordedEvent(
        position=1,
        event_id=str(uuid.uuid4()),
        tenant_id="clinic-a",
        stream_id=client_id,
        stream_version=1,
        client_id=client_id,
        type=event_type,
        schema_version=1,
        occurred_at=datetime(2025, 3, 4, tzinfo=UTC),
        data=data,
        metadata={},
    )


@pytest.mark.parametrize("name", sorted(V1_PAYLOADS))
def test_intake_produces_the_second_version(name: str) -> None:
    assert catalog.latest("intake", name).type == f"waypoint.intake.{name}.v2"


@pytest.mark.parametrize("name", sorted(V1_PAYLOADS))
def test_a_v1_record_decodes_as_v2_with_each_new_fact_none_and_the_old_ones_kept(
    name: str,
) -> None:
    event = recorded_v1(name)
    _, value, _ = encode(event, "intake")

    envelope = decode(value)

    assert envelope.type == f"waypoint.intake.{name}.v2"
    assert envelope.data == {**event.data, **V1_PAYLOADS[name][1]}


def test_every_upcaster_leads_one_version_up_the_same_event() -> None:
    for old, upcaster in catalog.UPCASTERS.items():
        new, _ = upcaster({})
        before, after = catalog.lookup(old), catalog.lookup(new)
        assert (after.service, after.name) == (before.service, before.name)
        assert after.version == before.version + 1


def test_an_upcaster_keeps_a_value_the_payload_already_has() -> None:
    upcaster = catalog.UPCASTERS["waypoint.intake.client_discharged.v1"]

    _, data = upcaster({"client_id": "c", "reason": "r", "ending_reason": "not_known"})

    assert data == {
        "client_id": "c",
        "reason": "r",
        "ending_reason": "not_known",
        "discharged_on": None,
    }


def test_a_v1_discharge_of_a_client_not_known_is_still_refused_after_the_upcast() -> None:
    envelope = decode(encode(recorded_v1("client_discharged"), "intake")[1])

    error = trust.client_error(None, envelope, trust.no_client_known)  # type: ignore[arg-type]

    assert error is not None and error.startswith(trust.KNOWN_CLIENT_CHECK)


def test_a_v2_discharge_names_an_ending_reason_of_the_list_and_may_leave_out_the_reason() -> None:
    discharged = "waypoint.intake.client_discharged.v2"
    client_id = str(uuid.uuid4())
    plain = catalog.validate_plain(
        discharged,
        {
            "client_id": client_id,
            "ending_reason": "completed_treatment",
            "discharged_on": "2026-12-04",
        },
    )

    assert plain["reason"] is None and plain["discharged_on"] == "2026-12-04"
    with pytest.raises(InvalidEvent):
        catalog.validate_plain(discharged, {"client_id": client_id, "ending_reason": "bored"})


def test_a_v2_referral_carries_one_of_the_three_age_groups() -> None:
    referred = "waypoint.intake.client_referred.v2"
    base = {**V1_PAYLOADS["client_referred"][0], "client_id": str(uuid.uuid4())}

    for group in ("child", "adolescent", "adult"):
        assert catalog.validate_plain(referred, {**base, "age_group": group})["age_group"] == group
    with pytest.raises(InvalidEvent):
        catalog.validate_plain(referred, {**base, "age_group": "teen"})


def test_the_golden_copies_keep_v1_and_add_v2() -> None:
    published = golden.GOLDEN_DIR
    for name in V1_PAYLOADS:
        for version in (1, 2):
            path = published / f"waypoint.intake.{name}.v{version}.json"
            assert json.loads(path.read_text())["type"] == path.stem
