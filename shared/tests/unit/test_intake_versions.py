"""Intake's second versions: producers emit v2, the upcasters each lead one version up the same
event and fill each new fact with None (nothing made up), and the v2 schemas hold their enums.
Decoding a v1 record is in test_envelope.py."""

from __future__ import annotations

import json
import uuid

import pytest

from waypoint_shared import catalog
from waypoint_shared.catalog import InvalidEvent, golden

NAMES = ("client_referred", "screening_recorded", "client_discharged")


@pytest.mark.parametrize("name", NAMES)
def test_intake_produces_the_second_version(name: str) -> None:
    assert catalog.latest("intake", name).type == f"waypoint.intake.{name}.v2"


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
    base = {
        "client_id": str(uuid.uuid4()),
        "given_name": "K",
        "family_name": "M",
        "date_of_birth": "2011-05-06",
    }

    for group in ("child", "adolescent", "adult"):
        assert catalog.validate_plain(referred, {**base, "age_group": group})["age_group"] == group
    with pytest.raises(InvalidEvent):
        catalog.validate_plain(referred, {**base, "age_group": "teen"})


def test_the_golden_copies_keep_v1_and_add_v2() -> None:
    published = golden.GOLDEN_DIR
    for name in NAMES:
        for version in (1, 2):
            path = published / f"waypoint.intake.{name}.v{version}.json"
            assert json.loads(path.read_text())["type"] == path.stem
