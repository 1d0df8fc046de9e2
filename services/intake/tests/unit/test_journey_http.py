"""The intake journey over HTTP: cultural context, consents, expectations, screenings,
completion and discharge, each recorded with who acted."""

from __future__ import annotations

from waypoint_shared import catalog

from .conftest import CLINICIAN, CONFIDENTIALITY, TREATMENT, Driver

CONTEXT = {
    "background": "grew up between Accra and Hamburg",
    "identities": ["Ghanaian-German", "queer"],
    "religion_or_spirituality": "Methodist",
    "considerations_for_care": "prefers evening sessions during Ramadan fasting of family",
    "therapist_preferences": {"language": "tw", "gender": "female", "modality": "act"},
    "recorded_by": CLINICIAN,
}


def test_cultural_context_is_recorded_replaced_by_a_second_put_and_sealed_at_rest(
    intake: Driver,
) -> None:
    client_id = intake.refer()

    intake.step(client_id, "PUT", "/cultural-context", CONTEXT)
    body = intake.step(
        client_id, "PUT", "/cultural-context", {"background": "Hamburg", "recorded_by": CLINICIAN}
    )

    assert body["cultural_context"]["background"] == "Hamburg"
    assert body["cultural_context"]["identities"] == []
    [first, _] = [e for e in intake.stored_events() if "cultural_context" in e["type"]]
    assert "Accra" not in str(first["data"])
    assert first["data"]["therapist_preferences"].startswith("enc:v2:")


def test_both_consents_make_the_client_in_active_care_and_answer_the_new_version(
    intake: Driver,
) -> None:
    client_id = intake.refer()

    intake.step(client_id, "POST", "/consents", TREATMENT)
    response = intake.call("POST", f"/v1/clients/{client_id}/consents", CONFIDENTIALITY)

    assert response.status_code == 200
    assert response.headers["ETag"] == '"3"'
    body = response.get_json()
    assert body["version"] == 3
    assert body["in_active_care"] is True
    assert {c["kind"]: c["status"] for c in body["consents"]} == {
        "treatment": "active",
        "confidentiality": "active",
    }


def test_confidentiality_without_its_limits_acknowledged_is_a_422_naming_the_field(
    intake: Driver,
) -> None:
    client_id = intake.refer()

    body = intake.step(
        client_id, "POST", "/consents", {**CONFIDENTIALITY, "limits_acknowledged": False}, 422
    )

    assert "limits_acknowledged" in body["errors"]
    assert len(intake.stored_events(client_id)) == 1


def test_data_sharing_carries_its_scopes(intake: Driver) -> None:
    client_id = intake.refer()
    sharing = {**TREATMENT, "kind": "data_sharing", "scopes": ["gp-letters", "research"]}

    body = intake.step(client_id, "POST", "/consents", sharing)

    assert body["consents"][0]["scopes"] == ["gp-letters", "research"]


def test_revoking_treatment_consent_moves_the_client_out_of_active_care(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    revocation = {"reason": "needs a pause", "revoked_by": "Amara Osei", "recorded_by": CLINICIAN}

    body = intake.step(client_id, "POST", "/consents/treatment/revocation", revocation)

    assert body["in_active_care"] is False
    assert body["consents"][0]["status"] == "revoked"
    assert intake.stored_events(client_id)[-1]["data"]["kind"] == "treatment"


def test_revoking_a_consent_that_is_not_active_is_a_409_problem(intake: Driver) -> None:
    client_id = intake.refer()
    revocation = {"reason": "x", "revoked_by": "Amara Osei", "recorded_by": CLINICIAN}

    response = intake.call(
        "POST", f"/v1/clients/{client_id}/consents/confidentiality/revocation", revocation
    )

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "no active confidentiality consent" in response.get_json()["detail"]


def test_an_unknown_consent_kind_in_the_path_is_a_404(intake: Driver) -> None:
    client_id = intake.refer()
    revocation = {"reason": "x", "revoked_by": "A", "recorded_by": CLINICIAN}

    response = intake.call("POST", f"/v1/clients/{client_id}/consents/hugs/revocation", revocation)

    assert response.status_code == 404


def test_expectations_acknowledged_are_kept_per_topic_with_who_acknowledged(intake: Driver) -> None:
    client_id = intake.refer()
    by_client = {"role": "client", "id": "amara"}

    body = intake.step(
        client_id,
        "POST",
        "/expectations",
        {"topics": ["session_frequency", "cancellation"], "acknowledged_by": by_client},
    )

    assert body["expectations"] == [
        {"topic": "session_frequency", "acknowledged_by": by_client},
        {"topic": "cancellation", "acknowledged_by": by_client},
    ]
    assert intake.stored_events(client_id)[-1]["metadata"]["actor"]["person"] == by_client


def test_an_unknown_expectation_topic_is_a_422(intake: Driver) -> None:
    client_id = intake.refer()
    body = {"topics": ["free_biscuits"], "acknowledged_by": {"role": "client", "id": "a"}}

    assert intake.step(client_id, "POST", "/expectations", body, 422)["errors"]["topics"]


def test_a_phq9_screening_answers_total_severity_and_no_risk_flag(intake: Driver) -> None:
    client_id = intake.refer()

    body = intake.screen(client_id, "PHQ-9", [2, 2, 2, 2, 2, 1, 0, 0, 0])

    assert (body["total"], body["severity"], body["risk_flag"]) == (11, "moderate", False)
    assert [e["type"] for e in intake.stored_events(client_id)][-1].endswith(
        "screening_recorded.v2"
    )


def test_a_positive_phq9_item_9_answers_risk_flag_and_appends_risk_flagged_with_it(
    intake: Driver,
) -> None:
    client_id = intake.refer()

    body = intake.screen(client_id, "PHQ-9", [0] * 8 + [2])

    assert body["risk_flag"] is True
    assert body["version"] == 3
    flagged = intake.stored_events(client_id)[-1]
    assert flagged["type"] == "waypoint.intake.risk_flagged.v1"
    assert flagged["data"]["item"] == 9 and flagged["data"]["score"] == 2
    assert flagged["data"]["screening_id"] == body["screening_id"]


def test_a_gad7_screening_is_scored_and_has_no_risk_flag(intake: Driver) -> None:
    body = intake.screen(intake.refer(), "GAD-7", [3, 3, 3, 3, 3, 0, 0])

    assert (body["total"], body["severity"]) == (15, "severe")
    assert "risk_flag" not in body


def test_a_screening_with_the_wrong_item_count_range_or_instrument_is_a_422(intake: Driver) -> None:
    client_id = intake.refer()
    for instrument, items, field in (
        ("PHQ-9", [1] * 7, "items"),
        ("GAD-7", [0, 0, 0, 0, 0, 0, 5], "items"),
        ("EPDS", [1] * 10, "instrument"),
        ("GAD-7", [1, 1, 1, 1, 1, 1, "1"], "items"),
    ):
        body = {"instrument": instrument, "items": items, "recorded_by": CLINICIAN}
        assert field in intake.step(client_id, "POST", "/screenings", body, 422)["errors"]
    assert len(intake.stored_events(client_id)) == 1


def test_completion_is_refused_with_a_409_listing_every_missing_requirement(intake: Driver) -> None:
    client_id = intake.refer()

    response = intake.call(
        "POST", f"/v1/clients/{client_id}/completion", {"recorded_by": CLINICIAN}
    )

    assert response.status_code == 409  # the record's state, not the request's shape
    assert response.mimetype == "application/problem+json"
    assert "missing: treatment_consent" in response.get_json()["detail"]
    assert response.get_json()["missing"] == [
        "treatment_consent",
        "confidentiality_consent",
        "baseline_screening",
        "therapist",
    ]


def test_completion_succeeds_once_consents_baseline_and_therapist_are_in_place(
    intake: Driver,
) -> None:
    client_id = intake.ready_for_completion()

    body = intake.step(client_id, "POST", "/completion", {"recorded_by": CLINICIAN})

    assert body["status"] == "intake_complete"
    completed = intake.stored_events(client_id)[-1]
    assert completed["type"] == "waypoint.intake.intake_completed.v1"
    assert completed["data"]["therapist_id"] == body["therapist_id"]


def test_a_discharged_client_is_out_of_care_and_further_changes_are_a_409(intake: Driver) -> None:
    client_id = intake.ready_for_completion()

    body = intake.step(
        client_id,
        "POST",
        "/discharge",
        {"ending_reason": "completed_treatment", "reason": "goals met", "recorded_by": CLINICIAN},
    )
    again = intake.call("POST", f"/v1/clients/{client_id}/consents", TREATMENT)

    assert (body["status"], body["in_active_care"]) == ("discharged", False)
    assert again.status_code == 409
    assert "discharged" in again.get_json()["detail"]


def test_a_stale_if_match_is_a_412_and_appends_nothing(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)

    response = intake.call(
        "POST", f"/v1/clients/{client_id}/consents", CONFIDENTIALITY, **{"If-Match": '"1"'}
    )

    assert response.status_code == 412
    assert len(intake.stored_events(client_id)) == 2


def test_a_retried_screening_with_the_same_idempotency_key_is_recorded_once(intake: Driver) -> None:
    client_id = intake.refer()
    body = {"instrument": "GAD-7", "items": [1] * 7, "recorded_by": CLINICIAN}
    path = f"/v1/clients/{client_id}/screenings"

    first = intake.call("POST", path, body, **{"Idempotency-Key": "record-screening-001"})
    retry = intake.call("POST", path, body, **{"Idempotency-Key": "record-screening-001"})

    assert retry.get_json() == first.get_json()
    assert len(intake.stored_events(client_id)) == 2


def test_every_write_records_the_calling_system_and_the_acting_person(intake: Driver) -> None:
    client_id = intake.ready_for_completion()

    events = intake.stored_events(client_id)[1:]

    assert {e["metadata"]["actor"]["system"] for e in events} == {"ehr"}
    assert {str(e["metadata"]["actor"]["person"]) for e in events} == {str(CLINICIAN)}


def test_the_newest_version_of_every_intake_event_type_is_produced_and_validates(
    intake: Driver,
) -> None:
    client_id = intake.ready_for_completion()
    intake.step(client_id, "PUT", "/cultural-context", CONTEXT)
    intake.step(client_id, "PATCH", "", {"phone": "+49 30 1234", "recorded_by": CLINICIAN})
    intake.step(
        client_id,
        "POST",
        "/expectations",
        {"topics": ["cancellation"], "acknowledged_by": CLINICIAN},
    )
    intake.screen(client_id, "PHQ-9", [0] * 8 + [1])
    second = intake.register()
    intake.call("PATCH", f"/v1/therapists/{second}", {"capacity": 9, "recorded_by": CLINICIAN})
    intake.assign(client_id, second)
    intake.step(client_id, "POST", "/completion", {"recorded_by": CLINICIAN})
    revocation = {"reason": "pause", "revoked_by": "Amara", "recorded_by": CLINICIAN}
    intake.step(client_id, "POST", "/consents/treatment/revocation", revocation)
    intake.step(
        client_id,
        "POST",
        "/discharge",
        {"ending_reason": "ended_early_by_client", "recorded_by": CLINICIAN},
    )
    intake.step(client_id, "POST", "/erasure", {"reason": "asked", "recorded_by": CLINICIAN})

    events = intake.stored_events()

    for event in events:
        catalog.validate_sealed(event["type"], event["data"])
    intake_names = {t.name for t in catalog.CATALOG.values() if t.service == "intake"}
    newest = {catalog.latest("intake", name).type for name in intake_names}
    assert {e["type"] for e in events} == newest


def test_personal_values_of_every_step_stay_sealed_in_the_store(intake: Driver) -> None:
    client_id = intake.ready_for_completion()
    intake.step(client_id, "PUT", "/cultural-context", CONTEXT)
    revocation = {"reason": "a private matter", "revoked_by": "Kofi Osei", "recorded_by": CLINICIAN}
    intake.step(client_id, "POST", "/consents/treatment/revocation", revocation)
    intake.step(
        client_id,
        "POST",
        "/discharge",
        {
            "ending_reason": "referred_elsewhere",
            "reason": "moved to Accra",
            "recorded_by": CLINICIAN,
        },
    )

    stored = str([e["data"] for e in intake.stored_events()])

    for plaintext in ("Amara", "Osei", "panic at night", "Methodist", "private matter", "Accra"):
        assert plaintext not in stored
