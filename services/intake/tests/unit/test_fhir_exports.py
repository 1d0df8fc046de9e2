"""Intake as a FHIR R4 base: every export validates with fhir.resources.R4B and carries the
codes docs/intake.md names; errors under /fhir are OperationOutcome."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar, cast

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from .conftest import CLINICIAN, CONFIDENTIALITY, TREATMENT, Driver

LOINC = "http://loinc.org"
FHIR_JSON = "application/fhir+json"

T = TypeVar("T")


def present(value: T | None) -> T:
    """A field the FHIR model leaves optional, which this answer must hold."""
    assert value is not None
    return value


def fhir(intake: Driver, path: str, **query: Any) -> dict[str, Any]:
    response = intake.get(path, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    return cast(dict[str, Any], response.get_json())


def searched(intake: Driver, resource_type: str, client_id: str) -> list[dict[str, Any]]:
    body = fhir(intake, f"/fhir/{resource_type}", patient=client_id)
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    for entry in body.get("entry", []):
        resource = entry["resource"]
        assert entry["fullUrl"] == f"http://127.0.0.1:8001/fhir/{resource_type}/{resource['id']}"
    return [e["resource"] for e in body.get("entry", [])]


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def test_a_client_reads_as_a_valid_patient(intake: Driver) -> None:
    client_id = intake.refer(preferred_name="Ama", phone="+49 30 1234", external_id="EHR-7")

    body = fhir(intake, f"/fhir/Patient/{client_id}")

    patient = Patient.model_validate(body)
    assert patient.id == client_id
    names = present(patient.name)
    assert names[0].family == "Osei" and names[1].given == ["Ama"]
    assert str(patient.birthDate) == "1992-06-30"
    assert {t.system for t in present(patient.telecom)} == {"email", "phone"}
    assert present(patient.identifier)[0].value == "EHR-7"
    assert present(present(patient.communication)[0].language.coding)[0].code == "de"
    assert patient.active is True


def test_consents_export_with_their_scope_and_a_revoked_one_is_inactive(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    intake.step(client_id, "POST", "/consents", CONFIDENTIALITY)
    revocation = {"reason": "pause", "revoked_by": "Amara", "recorded_by": CLINICIAN}
    intake.step(client_id, "POST", "/consents/treatment/revocation", revocation)

    treatment, confidentiality = searched(intake, "Consent", client_id)

    for body in (treatment, confidentiality):
        Consent.model_validate(body)
        assert body["patient"] == {"reference": f"Patient/{client_id}"}
        assert (LOINC, "59284-0") in codes(body["category"][0])
    scope = "http://terminology.hl7.org/CodeSystem/consentscope"
    assert codes(treatment["scope"]) == {(scope, "treatment")}
    assert codes(confidentiality["scope"]) == {(scope, "patient-privacy")}
    assert (treatment["status"], confidentiality["status"]) == ("inactive", "active")


def test_a_data_sharing_consent_exports_its_scopes_as_permitted_purposes(intake: Driver) -> None:
    client_id = intake.refer()
    sharing = {**TREATMENT, "kind": "data_sharing", "scopes": ["gp-letters"]}
    intake.step(client_id, "POST", "/consents", sharing)

    [body] = searched(intake, "Consent", client_id)

    Consent.model_validate(body)
    assert body["provision"]["type"] == "permit"
    assert [p["code"] for p in body["provision"]["purpose"]] == ["gp-letters"]


def test_screenings_export_as_questionnaire_responses_with_item_scores_as_answers(
    intake: Driver,
) -> None:
    client_id = intake.refer()
    phq9 = intake.screen(client_id, "PHQ-9", [1, 2, 3, 0, 1, 2, 3, 0, 1])
    intake.screen(client_id, "GAD-7", [1] * 7)

    first, second = searched(intake, "QuestionnaireResponse", client_id)

    for body in (first, second):
        QuestionnaireResponse.model_validate(body)
        assert body["status"] == "completed"
        assert body["subject"] == {"reference": f"Patient/{client_id}"}
    assert first["id"] == phq9["screening_id"]
    assert first["questionnaire"] == "http://loinc.org/q/44249-1"
    answers = [i["answer"][0]["valueInteger"] for i in first["item"]]
    assert answers == [1, 2, 3, 0, 1, 2, 3, 0, 1, 13]
    assert first["item"][-1]["linkId"] == "44261-6"
    assert second["questionnaire"] == "http://loinc.org/q/69737-5"
    assert second["item"][-1] == {"linkId": "70274-6", "answer": [{"valueInteger": 7}]}


def test_screenings_export_as_loinc_survey_observations_panel_and_total(intake: Driver) -> None:
    client_id = intake.refer()
    intake.screen(client_id, "PHQ-9", [2] * 9)
    intake.screen(client_id, "GAD-7", [3] * 7)

    observations = searched(intake, "Observation", client_id)

    survey = ("http://terminology.hl7.org/CodeSystem/observation-category", "survey")
    for body in observations:
        Observation.model_validate(body)
        assert codes(body["category"][0]) == {survey}
        assert all(c["system"] == LOINC for c in body["code"]["coding"])
    by_code = {body["code"]["coding"][0]["code"]: body for body in observations}
    assert set(by_code) == {"44249-1", "44261-6", "69737-5", "70274-6"}
    assert by_code["44261-6"]["valueInteger"] == 18
    assert by_code["70274-6"]["valueInteger"] == 21
    assert by_code["70274-6"]["interpretation"][0]["text"] == "severe"
    panel = by_code["44249-1"]
    assert [c["valueInteger"] for c in panel["component"]] == [2] * 9
    assert panel["hasMember"] == [{"reference": f"Observation/{by_code['44261-6']['id']}"}]


def test_a_search_for_a_patient_of_another_tenant_matches_nothing(intake: Driver) -> None:
    client_id = intake.refer()
    intake.screen(client_id, "GAD-7", [1] * 7)
    intake.tenant = "clinic-b"

    assert searched(intake, "Observation", client_id) == []


def test_a_search_accepts_a_patient_reference(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)

    assert len(searched(intake, "Consent", f"Patient/{client_id}")) == 1


def test_an_unknown_patient_is_a_404_operation_outcome(intake: Driver) -> None:
    response = intake.get(f"/fhir/Patient/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.mimetype == FHIR_JSON
    outcome = OperationOutcome.model_validate(response.get_json())
    assert outcome.issue[0].code == "not-found"


def test_a_search_without_a_patient_is_an_operation_outcome_naming_the_parameter(
    intake: Driver,
) -> None:
    response = intake.get("/fhir/Observation")

    assert response.mimetype == FHIR_JSON
    outcome = OperationOutcome.model_validate(response.get_json())
    assert any(issue.expression == ["patient"] for issue in outcome.issue)


def test_without_a_token_fhir_answers_a_401_operation_outcome(intake: Driver) -> None:
    response = intake.http.get(f"/fhir/Patient/{uuid.uuid4()}")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    OperationOutcome.model_validate(response.get_json())
