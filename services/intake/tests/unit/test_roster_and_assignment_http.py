"""The therapist roster, ranked matches with reasons, and assignment that never overfills a
caseload — not even under parallel requests."""

from __future__ import annotations

import threading

from waypoint_devkit.apps import bearer

from .conftest import CLINICIAN, THERAPIST, Driver

ADMIN = THERAPIST["recorded_by"]


def test_a_registered_therapist_answers_201_with_location_and_reads_back(intake: Driver) -> None:
    response = intake.call("POST", "/v1/therapists", THERAPIST)

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    body = intake.get(response.headers["Location"]).get_json()
    assert body["name"] == "Dr. Lena Vogel"
    assert (body["capacity"], body["caseload"], body["free_places"]) == (5, 0, 5)
    assert body["accepting_clients"] is True


def test_a_modality_outside_the_shared_enum_is_a_422(intake: Driver) -> None:
    response = intake.call("POST", "/v1/therapists", {**THERAPIST, "modalities": ["astrology"]})

    assert response.status_code == 422
    assert "modalities" in response.get_json()["errors"]


def test_the_roster_is_listed_in_registration_order_across_cursor_pages(intake: Driver) -> None:
    registered = [intake.register(name=f"Therapist {i}") for i in range(3)]

    first = intake.get("/v1/therapists", limit=2).get_json()
    second = intake.get("/v1/therapists", limit=2, cursor=first["next_cursor"]).get_json()

    assert [t["therapist_id"] for t in first["items"] + second["items"]] == registered
    assert second["next_cursor"] is None


def test_another_tenants_therapist_is_a_404_and_not_listed(intake: Driver) -> None:
    therapist_id = intake.register()
    intake.tenant = "clinic-b"

    assert intake.get(f"/v1/therapists/{therapist_id}").status_code == 404
    assert intake.get("/v1/therapists").get_json()["items"] == []


def test_updating_a_therapist_changes_only_what_is_sent(intake: Driver) -> None:
    therapist_id = intake.register()

    response = intake.call(
        "PATCH",
        f"/v1/therapists/{therapist_id}",
        {"capacity": 8, "accepting_clients": False, "recorded_by": ADMIN},
    )

    body = response.get_json()
    assert (body["capacity"], body["accepting_clients"], body["version"]) == (8, False, 2)
    assert body["languages"] == ["de", "en"]
    updated = intake.stored_events(therapist_id)[-1]["data"]
    assert updated["changes"]["capacity"] == {"before": 5, "after": 8}


def test_matches_are_ranked_with_scores_and_reasons_and_ties_by_id(intake: Driver) -> None:
    client_id = intake.refer(preferred_language="de", presenting_concerns=["panic at night"])
    intake.step(
        client_id,
        "PUT",
        "/cultural-context",
        {
            "therapist_preferences": {"gender": "female", "modality": "act"},
            "recorded_by": CLINICIAN,
        },
    )
    best = intake.register()
    plain = sorted(intake.register(languages=["fr"], specialties=[], gender="male") for _ in "ab")
    intake.register(name="Full", capacity=0)

    body = intake.get(f"/v1/clients/{client_id}/therapist-matches").get_json()

    ranked = body["matches"]
    assert [m["therapist_id"] for m in ranked] == [best, *plain]
    assert {r["rule"] for r in ranked[0]["reasons"]} == {
        "language",
        "modality",
        "specialty",
        "gender",
        "capacity",
    }
    assert ranked[0]["score"] == sum(r["points"] for r in ranked[0]["reasons"])
    assert ranked[1]["score"] == ranked[2]["score"]


def test_the_same_data_gives_the_same_matches(intake: Driver) -> None:
    client_id = intake.refer()
    for name in "abcd":
        intake.register(name=name, languages=["de"] if name in "bd" else ["en"])

    first = intake.get(f"/v1/clients/{client_id}/therapist-matches").get_json()

    assert intake.get(f"/v1/clients/{client_id}/therapist-matches").get_json() == first


def test_matches_are_the_best_limit_and_a_limit_over_100_is_a_422(intake: Driver) -> None:
    client_id = intake.refer()
    for name in "abcd":
        intake.register(name=name)
    path = f"/v1/clients/{client_id}/therapist-matches"

    every = intake.get(path).get_json()["matches"]
    best_two = intake.get(path, limit=2).get_json()["matches"]
    too_many = intake.get(path, limit=101)

    assert len(every) == 4 and best_two == every[:2]
    assert too_many.status_code == 422 and "limit" in too_many.get_json()["errors"]


def test_assigning_takes_the_client_onto_the_therapists_caseload(intake: Driver) -> None:
    client_id, therapist_id = intake.refer(), intake.register()

    body = intake.assign(client_id, therapist_id)

    assert body["therapist_id"] == therapist_id
    assert intake.get(f"/v1/therapists/{therapist_id}").get_json()["caseload"] == 1
    [taken_on] = [e for e in intake.stored_events(therapist_id) if "taken_on" in e["type"]]
    assert taken_on["data"]["client_id"] == client_id


def test_a_therapist_at_capacity_is_a_409(intake: Driver) -> None:
    therapist_id = intake.register(capacity=1)
    intake.assign(intake.refer(), therapist_id)

    body = intake.assign(intake.refer(), therapist_id, status=409)

    assert "no free place" in body["detail"]


def test_a_therapist_not_accepting_clients_is_a_409(intake: Driver) -> None:
    therapist_id = intake.register(accepting_clients=False)

    assert "accepts no new clients" in intake.assign(intake.refer(), therapist_id, 409)["detail"]


def test_an_unknown_therapist_is_a_404(intake: Driver) -> None:
    body = intake.assign(intake.refer(), "6f1c9a56-3c1e-4c61-9d47-3b8d1c7a9b10", 404)

    assert "therapist" in body["detail"]


def test_reassigning_hands_the_client_over_from_the_previous_therapist(intake: Driver) -> None:
    client_id = intake.refer()
    first, second = intake.register(), intake.register()
    intake.assign(client_id, first)

    intake.assign(client_id, second)

    assert intake.get(f"/v1/therapists/{first}").get_json()["caseload"] == 0
    assert intake.get(f"/v1/therapists/{second}").get_json()["caseload"] == 1
    assigned = intake.stored_events(client_id)[-1]["data"]
    assert assigned["previous_therapist_id"] == first
    assert intake.stored_events(first)[-1]["type"] == "waypoint.intake.client_handed_over.v1"


def test_assigning_the_same_therapist_again_changes_nothing(intake: Driver) -> None:
    client_id, therapist_id = intake.refer(), intake.register()
    intake.assign(client_id, therapist_id)

    body = intake.assign(client_id, therapist_id)

    assert body["version"] == 2
    assert intake.get(f"/v1/therapists/{therapist_id}").get_json()["caseload"] == 1


def test_discharge_frees_the_place_with_the_therapist(intake: Driver) -> None:
    therapist_id = intake.register(capacity=1)
    client_id = intake.refer()
    intake.assign(client_id, therapist_id)

    intake.step(
        client_id,
        "POST",
        "/discharge",
        {"ending_reason": "completed_treatment", "recorded_by": CLINICIAN},
    )

    assert intake.get(f"/v1/therapists/{therapist_id}").get_json()["free_places"] == 1
    intake.assign(intake.refer(), therapist_id)


def test_parallel_assignments_to_the_last_free_place_let_exactly_one_succeed(
    intake: Driver,
) -> None:
    therapist_id = intake.register(capacity=2)
    intake.assign(intake.refer(), therapist_id)
    clients = [intake.refer(external_id=f"EHR-{i}") for i in range(8)]
    start, statuses = threading.Barrier(len(clients)), []

    def assign(client_id: str) -> None:
        http = intake.app.test_client()
        start.wait()
        response = http.put(
            f"/v1/clients/{client_id}/therapist",
            json={"therapist_id": therapist_id, "recorded_by": CLINICIAN},
            headers=bearer(),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=assign, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [409] * 7
    assert intake.get(f"/v1/therapists/{therapist_id}").get_json()["caseload"] == 2
