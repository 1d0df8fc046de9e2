"""The event catalog validates payloads, names types consistently and guards its golden copies."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from marshmallow import fields

from waypoint_shared import catalog
from waypoint_shared.catalog import CATALOG, EventType, InvalidEvent, golden
from waypoint_shared.catalog.events.intake import ClientReferredV1
from waypoint_shared.crypto.sealing import Place, seal_fields

REFERRED = "waypoint.intake.client_referred.v1"
PROPOSED = "waypoint.goals.goal_proposed.v1"
TYPE_FORM = re.compile(r"^waypoint\.(intake|goals|progress)\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$")


def a_referral(**changes: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "given_name": "Zoë",
        "family_name": "Okafor",
        "date_of_birth": "1991-04-02",
        "presenting_concerns": ["sleep", "worry"],
        **changes,
    }


def a_proposal(**changes: Any) -> dict[str, Any]:
    return {
        "goal_id": str(uuid.uuid4()),
        "client_id": str(uuid.uuid4()),
        "title": "Walk to the park twice a week",
        "modality": "cbt",
        "priority": "high",
        "proposed_by": {"role": "client", "id": "c-1"},
        **changes,
    }


def sealed(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    plain = catalog.validate_plain(event_type, payload)
    key, client_id = os.urandom(32), plain["client_id"]
    personal = catalog.lookup(event_type).personal_fields
    place = Place(catalog.lookup(event_type).service, "clinic-a", client_id, event_type, "")
    return seal_fields(key, place, plain, personal)


def test_a_good_payload_is_accepted_and_comes_back_json_ready_with_defaults() -> None:
    referral = a_referral()

    plain = catalog.validate_plain(REFERRED, referral)

    assert plain["client_id"] == referral["client_id"]
    assert plain["given_name"] == "Zoë"
    assert plain["interpreter_needed"] is False
    assert plain["email"] is None
    json.dumps(plain)


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        (REFERRED, {k: v for k, v in a_referral().items() if k != "given_name"}),
        (REFERRED, a_referral(client_id="not-a-uuid")),
        (REFERRED, a_referral(nickname="unknown field")),
        (REFERRED, a_referral(presenting_concerns="not a list")),
        (REFERRED, a_referral(interpreter_needed="perhaps")),
        (PROPOSED, a_proposal(modality="astrology")),
        (PROPOSED, a_proposal(priority="urgent")),
        (PROPOSED, a_proposal(proposed_by={"role": "parent", "id": "p-1"})),
        (PROPOSED, a_proposal(target={"instrument": "PHQ-9"})),
        ("waypoint.intake.client_teleported.v1", a_referral()),
    ],
    ids=[
        "missing required field",
        "malformed uuid",
        "unknown field",
        "list expected",
        "boolean expected",
        "modality outside the shared enum",
        "unknown priority",
        "unknown party role",
        "incomplete nested target",
        "unknown type",
    ],
)
def test_a_bad_payload_is_rejected_with_invalid_event(
    event_type: str, payload: dict[str, Any]
) -> None:
    with pytest.raises(InvalidEvent):
        catalog.validate_plain(event_type, payload)


def test_a_sealed_payload_is_accepted_as_it_travels() -> None:
    payload = sealed(REFERRED, a_referral(email="zoe@example.org"))

    assert catalog.validate_sealed(REFERRED, payload) == payload


def test_a_payload_whose_personal_field_is_plain_text_is_refused() -> None:
    payload = sealed(REFERRED, a_referral())

    for name in ("given_name", "date_of_birth", "presenting_concerns"):
        leaked = {**payload, name: catalog.validate_plain(REFERRED, a_referral())[name]}
        with pytest.raises(InvalidEvent, match=name):
            catalog.validate_sealed(REFERRED, leaked)


def test_a_sealed_payload_with_an_invalid_plain_field_is_refused() -> None:
    payload = sealed(PROPOSED, a_proposal())

    with pytest.raises(InvalidEvent):
        catalog.validate_sealed(PROPOSED, {**payload, "modality": "astrology"})
    with pytest.raises(InvalidEvent):
        catalog.validate_sealed(PROPOSED, [payload])


def test_every_catalog_type_reads_waypoint_service_name_version() -> None:
    for type_string, entry in CATALOG.items():
        assert TYPE_FORM.match(type_string), type_string
        assert type_string == f"waypoint.{entry.service}.{entry.name}.v{entry.version}"
        assert catalog.lookup(type_string) is entry


def test_the_golden_copies_match_the_catalog() -> None:
    assert golden.compare_golden() == []


def test_golden_copies_are_sorted_indented_json_with_a_trailing_newline(tmp_path: Path) -> None:
    written = golden.write_golden(tmp_path)

    assert {p.name for p in written} == {f"{t}.json" for t in CATALOG}
    for path in written:
        text = path.read_text(encoding="utf-8")
        described = json.loads(text)
        assert described == catalog.describe(CATALOG[path.stem])
        assert text == json.dumps(described, sort_keys=True, indent=2) + "\n"
    assert golden.compare_golden(tmp_path) == []


def test_a_changed_schema_of_a_published_version_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ClientReferredWithExtra(ClientReferredV1):
        gender = fields.String(required=True)

    monkeypatch.setitem(
        CATALOG, REFERRED, EventType("intake", "client_referred", 1, ClientReferredWithExtra)
    )

    differences = golden.compare_golden()

    assert len(differences) == 1
    assert REFERRED in differences[0]


def test_a_field_that_stops_being_personal_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClientReferredLeaky(ClientReferredV1):
        email = fields.String(allow_none=True, load_default=None)

    monkeypatch.setitem(
        CATALOG, REFERRED, EventType("intake", "client_referred", 1, ClientReferredLeaky)
    )

    assert [d for d in golden.compare_golden() if REFERRED in d]


def test_a_new_version_without_a_golden_copy_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = EventType("intake", "client_referred", 2, ClientReferredV1)
    monkeypatch.setitem(CATALOG, entry.type, entry)

    differences = golden.compare_golden()

    assert len(differences) == 1
    assert "waypoint.intake.client_referred.v2" in differences[0]


def test_a_published_version_that_left_the_catalog_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(CATALOG, PROPOSED)

    differences = golden.compare_golden()

    assert len(differences) == 1
    assert PROPOSED in differences[0]
