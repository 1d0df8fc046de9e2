"""Listing, correcting and auditing client records: the external-id filter, cursor pages,
corrections that keep the old values, the history with its actors, and reads as of a time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from .conftest import CLINICIAN, TREATMENT, Driver


def test_the_external_id_filter_finds_exactly_that_client(intake: Driver) -> None:
    wanted = intake.refer(external_id="EHR-42")
    intake.refer(external_id="EHR-43")

    body = intake.get("/v1/clients", external_id="EHR-42").get_json()

    assert [c["client_id"] for c in body["items"]] == [wanted]
    assert body["items"][0]["given_name"] == "Amara"
    assert body["next_cursor"] is None


def test_an_unknown_external_id_lists_nothing(intake: Driver) -> None:
    intake.refer(external_id="EHR-42")

    assert intake.get("/v1/clients", external_id="EHR-99").get_json()["items"] == []


def test_another_tenant_cannot_find_a_client_by_external_id(intake: Driver) -> None:
    intake.refer(external_id="EHR-42")
    intake.tenant = "clinic-b"

    assert intake.get("/v1/clients", external_id="EHR-42").get_json()["items"] == []


def test_clients_are_listed_in_referral_order_across_cursor_pages(intake: Driver) -> None:
    referred = [intake.refer(external_id=f"EHR-{i}") for i in range(5)]

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = intake.get("/v1/clients", **query).get_json()
        seen += [c["client_id"] for c in body["items"]]
        pages, cursor = pages + 1, body["next_cursor"]
        if cursor is None:
            break

    assert seen == referred
    assert pages == 3


def test_a_cursor_the_service_did_not_hand_out_is_a_422(intake: Driver) -> None:
    response = intake.get("/v1/clients", cursor="bm90LWEtY3Vyc29y")

    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


def test_a_correction_changes_the_details_and_the_event_keeps_before_and_after_sealed(
    intake: Driver,
) -> None:
    client_id = intake.refer()

    body = intake.step(
        client_id, "PATCH", "", {"family_name": "Osei-Mensah", "recorded_by": CLINICIAN}
    )

    assert body["family_name"] == "Osei-Mensah"
    assert body["given_name"] == "Amara"
    corrected = intake.stored_events(client_id)[-1]
    assert corrected["data"]["changed_fields"] == ["family_name"]
    assert corrected["data"]["changes"].startswith("enc:v2:")
    assert "Osei" not in json.dumps(corrected["data"])


def test_the_history_shows_a_correction_with_the_value_before(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "PATCH", "", {"family_name": "Mensah", "recorded_by": CLINICIAN})

    items = intake.get(f"/v1/clients/{client_id}/history").get_json()["items"]

    assert items[-1]["changes"] == {"family_name": {"before": "Osei", "after": "Mensah"}}


def test_a_correction_that_changes_nothing_appends_nothing(intake: Driver) -> None:
    client_id = intake.refer()

    body = intake.step(client_id, "PATCH", "", {"given_name": "Amara", "recorded_by": CLINICIAN})

    assert body["version"] == 1
    assert len(intake.stored_events(client_id)) == 1


def test_a_correction_must_name_a_detail_and_cannot_blank_a_required_one(intake: Driver) -> None:
    client_id = intake.refer()

    assert intake.step(client_id, "PATCH", "", {"recorded_by": CLINICIAN}, 422)
    assert intake.step(client_id, "PATCH", "", {"given_name": None, "recorded_by": CLINICIAN}, 422)


def test_correcting_the_external_id_moves_the_filter_and_frees_the_old_id(intake: Driver) -> None:
    client_id = intake.refer(external_id="EHR-1")

    intake.step(client_id, "PATCH", "", {"external_id": "EHR-2", "recorded_by": CLINICIAN})

    found = intake.get("/v1/clients", external_id="EHR-2").get_json()["items"]
    assert [c["client_id"] for c in found] == [client_id]
    assert intake.get("/v1/clients", external_id="EHR-1").get_json()["items"] == []
    assert intake.refer(external_id="EHR-1") != client_id


def test_correcting_to_an_external_id_another_client_holds_is_a_409(intake: Driver) -> None:
    holder = intake.refer(external_id="EHR-1")
    other = intake.refer(external_id="EHR-2")

    body = intake.step(other, "PATCH", "", {"external_id": "EHR-1", "recorded_by": CLINICIAN}, 409)

    assert body["client_id"] == holder


def test_the_history_lists_type_time_actor_and_version_of_every_event(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)

    body = intake.get(f"/v1/clients/{client_id}/history").get_json()

    assert [(i["type"], i["version"]) for i in body["items"]] == [
        ("client_referred", 1),
        ("consent_granted", 2),
    ]
    assert body["items"][1]["actor"] == {"system": "ehr", "person": CLINICIAN}
    assert datetime.fromisoformat(body["items"][0]["occurred_at"]).tzinfo is not None


def test_the_history_of_an_unknown_client_is_a_404(intake: Driver) -> None:
    response = intake.get("/v1/clients/6f1c9a56-3c1e-4c61-9d47-3b8d1c7a9b10/history")

    assert response.status_code == 404


def test_reading_as_of_a_time_shows_the_details_and_consents_then(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    intake.step(client_id, "PATCH", "", {"family_name": "Mensah", "recorded_by": CLINICIAN})
    intake.step(
        client_id,
        "POST",
        "/consents/treatment/revocation",
        {"reason": "pause", "revoked_by": "Amara", "recorded_by": CLINICIAN},
    )

    then = intake.get(f"/v1/clients/{client_id}", as_of=between.isoformat())
    now = intake.get(f"/v1/clients/{client_id}").get_json()

    assert then.headers["ETag"] == '"2"'
    assert then.get_json()["family_name"] == "Osei"
    assert then.get_json()["consents"][0]["status"] == "active"
    assert (now["family_name"], now["consents"][0]["status"]) == ("Mensah", "revoked")
