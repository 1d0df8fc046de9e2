"""Intake as a FHIR R4 base: every export validates with fhir.resources.R4B and carries the
codes docs/intake.md names; errors under /fhir are OperationOutcome."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, TypeVar, cast

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from waypoint_devkit.apps import bearer
from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.fhir import mapping

from .conftest import CLINICIAN, CONFIDENTIALITY, REFERRAL, THERAPIST, TREATMENT, Driver

LOINC = "http://loinc.org"
BASE = "http://127.0.0.1:8001/fhir"  # intake's public URL in tests, and so every Patient's
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
        assert entry["fullUrl"] == f"{BASE}/{resource_type}/{resource['id']}"
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
        assert body["patient"] == {"reference": f"{BASE}/Patient/{client_id}"}
        assert (LOINC, "59284-0") in codes(body["category"][0])
    scope = "http://terminology.hl7.org/CodeSystem/consentscope"
    assert codes(treatment["scope"]) == {(scope, "treatment")}
    assert codes(confidentiality["scope"]) == {(scope, "patient-privacy")}
    assert (treatment["status"], confidentiality["status"]) == ("inactive", "active")


def test_a_data_sharing_consent_exports_its_scopes_as_the_permitted_data(intake: Driver) -> None:
    client_id = intake.refer()
    sharing = {**TREATMENT, "kind": "data_sharing", "scopes": ["gp-letters", "outcome scores"]}
    intake.step(client_id, "POST", "/consents", sharing)

    [body] = searched(intake, "Consent", client_id)

    Consent.model_validate(body)
    assert body["provision"]["type"] == "permit"
    assert body["provision"]["code"] == [{"text": "gp-letters"}, {"text": "outcome scores"}]
    kind = "https://waypoint.example/fhir/CodeSystem/consent-kind"
    assert codes(body["category"][1]) == {(kind, "data_sharing")}


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
        assert body["subject"] == {"reference": f"{BASE}/Patient/{client_id}"}
    assert first["id"] == phq9["screening_id"]
    assert first["questionnaire"] == "https://waypoint.example/fhir/Questionnaire/phq-9|1.0.0"
    answers = [i["answer"][0] for i in first["item"]]
    assert [weight(a["valueCoding"]) for a in answers[:-1]] == [1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert [a["valueCoding"]["code"] for a in answers[:2]] == ["LA6569-3", "LA6570-1"]
    assert {a["valueCoding"]["system"] for a in answers[:-1]} == {LOINC}
    assert [i["linkId"] for i in first["item"]] == [*(f"item-{n}" for n in range(1, 10)), "total"]
    assert first["item"][-1] == {"linkId": "total", "answer": [{"valueInteger": 13}]}
    assert second["questionnaire"] == "https://waypoint.example/fhir/Questionnaire/gad-7|1.0.0"
    assert second["item"][-1] == {"linkId": "total", "answer": [{"valueInteger": 7}]}
    assert [weight(i["answer"][0]["valueCoding"]) for i in second["item"][:-1]] == [1] * 7


def weight(coding: dict[str, Any]) -> float:
    """An answer's score: its `ordinalValue` extension."""
    [extension] = coding["extension"]
    assert extension["url"] == "http://hl7.org/fhir/StructureDefinition/ordinalValue"
    return float(extension["valueDecimal"])


def test_the_questionnaires_are_served_by_id_and_found_by_canonical_url(intake: Driver) -> None:
    canonical = "https://waypoint.example/fhir/Questionnaire/phq-9"

    read = fhir(intake, "/fhir/Questionnaire/phq-9")
    found = fhir(intake, "/fhir/Questionnaire", url=f"{canonical}|1.0.0")
    everything = fhir(intake, "/fhir/Questionnaire")

    Questionnaire.model_validate(read)
    assert (read["url"], read["version"]) == (canonical, "1.0.0")
    assert [i["code"][0]["code"] for i in read["item"][:2]] == ["44250-9", "44255-8"]
    assert found["total"] == 1 and found["entry"][0]["resource"] == read
    assert found["entry"][0]["fullUrl"] == "http://127.0.0.1:8001/fhir/Questionnaire/phq-9"
    assert {e["resource"]["id"] for e in everything["entry"]} == {"phq-9", "gad-7"}
    assert fhir(intake, "/fhir/Questionnaire", url=f"{canonical}|0.9")["total"] == 0
    assert intake.get("/fhir/Questionnaire/phq-8").status_code == 404


def test_the_suites_code_systems_are_served_by_id_and_found_by_canonical_url(
    intake: Driver,
) -> None:
    canonical = "https://waypoint.example/fhir/CodeSystem/measures"

    read = fhir(intake, "/fhir/CodeSystem/measures")
    found = fhir(intake, "/fhir/CodeSystem", url=canonical)

    CodeSystem.model_validate(read)
    assert read["url"] == canonical and read["content"] == "complete"
    assert {"ORS", "SRS", "PHQ-9-moderately-severe"} <= {c["code"] for c in read["concept"]}
    assert [e["resource"] for e in found["entry"]] == [read]
    response = intake.get("/fhir/CodeSystem/data-sharing-scope")
    assert response.status_code == 404 and response.mimetype == FHIR_JSON


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
    measures = "https://waypoint.example/fhir/CodeSystem/measures"
    assert by_code["70274-6"]["interpretation"][0]["text"] == "severe"
    assert codes(by_code["70274-6"]["interpretation"][0]) == {(measures, "GAD-7-severe")}
    assert codes(by_code["44261-6"]["interpretation"][0]) == {(measures, "PHQ-9-moderately-severe")}
    panel = by_code["44249-1"]
    assert [c["valueInteger"] for c in panel["component"]] == [2] * 9
    assert panel["hasMember"] == [{"reference": f"{BASE}/Observation/{by_code['44261-6']['id']}"}]


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


def stored_client(**details: Any) -> Client:
    """A client as its stored referral has it, whatever rules input has since gained."""
    client_id = str(uuid.uuid4())
    referred = Client.refer(
        client_id,
        date(2025, 3, 1),
        given_name="Amara",
        family_name="Osei",
        date_of_birth="1992-06-30",
        **details,
    )
    return Client.rebuilt(client_id, [referred])


def test_a_preferred_language_exports_as_a_bcp47_coding() -> None:
    exported = mapping.patient(stored_client(preferred_language="pt-BR"))

    [communication] = exported["communication"]
    language = {"coding": [{"system": "urn:ietf:bcp:47", "code": "pt-BR"}]}
    assert communication == {"language": language, "preferred": True}


def test_a_language_stored_as_free_text_before_tags_were_required_exports_as_text() -> None:
    exported = mapping.patient(stored_client(preferred_language="Brazilian Portuguese"))

    Patient.model_validate(exported)
    [communication] = exported["communication"]
    assert communication["language"] == {"text": "Brazilian Portuguese"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/clients", {"preferred_language": "English"}, "preferred_language"),
        ("/v1/clients", {"preferred_language": "en_US"}, "preferred_language"),
        ("/v1/therapists", {"languages": ["de", "Deutsch"]}, "languages"),
    ],
)
def test_a_language_that_is_not_a_bcp47_tag_is_a_422_naming_the_field(
    intake: Driver, path: str, body: dict[str, Any], field: str
) -> None:
    base = REFERRAL if path == "/v1/clients" else THERAPIST
    response = intake.call("POST", path, {**base, **body})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_a_preferred_language_in_therapist_preferences_must_be_a_bcp47_tag(
    intake: Driver,
) -> None:
    client_id = intake.refer()
    context = {"therapist_preferences": {"language": "Deutsch"}, "recorded_by": CLINICIAN}

    response = intake.call("PUT", f"/v1/clients/{client_id}/cultural-context", context)

    assert response.status_code == 422
    assert "therapist_preferences" in response.get_json()["errors"]


def walk_references(value: Any) -> list[str]:
    """Every `reference` in a resource, however deep."""
    if isinstance(value, dict):
        here = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return here + [r for v in value.values() for r in walk_references(v)]
    if isinstance(value, list):
        return [r for v in value for r in walk_references(v)]
    return []


def test_every_full_url_and_reference_of_a_clients_exports_reads_back(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    intake.screen(client_id, "PHQ-9", [1] * 9)
    kinds = ("EpisodeOfCare", "Consent", "QuestionnaireResponse", "Observation")
    bundles = [fhir(intake, f"/fhir/{kind}", patient=client_id) for kind in kinds]
    urls = {e["fullUrl"] for b in bundles for e in b["entry"]}
    urls |= {r for b in bundles for e in b["entry"] for r in walk_references(e["resource"])}

    assert len(urls) == 6  # the patient, episode, consent, response, panel and total
    for url in urls:
        assert url.startswith(f"{BASE}/"), url
        body = fhir(intake, url.removeprefix("http://127.0.0.1:8001"))
        assert f"{body['resourceType']}/{body['id']}" == url.removeprefix(f"{BASE}/")
        assert body["meta"]["lastUpdated"]


def test_another_tenants_resource_reads_as_an_unknown_id_does(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    [consent] = searched(intake, "Consent", client_id)
    intake.tenant = "clinic-b"

    theirs = intake.get(f"/fhir/Consent/{consent['id']}")
    unknown = intake.get(f"/fhir/Consent/{uuid.uuid4()}")

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.mimetype == FHIR_JSON
    said = theirs.get_json()["issue"][0]["diagnostics"].replace(consent["id"], "<id>")
    assert said == "Not Found: There is no Consent <id> here."


def test_observations_are_searched_by_code_date_and_subject(intake: Driver) -> None:
    client_id = intake.refer()
    intake.screen(client_id, "PHQ-9", [2] * 9)
    intake.screen(client_id, "GAD-7", [3] * 7)
    today = fhir(intake, "/fhir/Observation", patient=client_id)["entry"][0]["resource"]
    day = today["effectiveDateTime"][:10]

    def ids(**query: Any) -> list[str]:
        body = fhir(intake, "/fhir/Observation", **query)
        return [e["resource"]["code"]["coding"][0]["code"] for e in body.get("entry", [])]

    assert ids(patient=client_id, code="70274-6") == ["70274-6"]
    assert ids(subject=f"Patient/{client_id}", code=f"{LOINC}|44261-6,{LOINC}|70274-6") == [
        "44261-6",
        "70274-6",
    ]
    assert len(ids(patient=client_id, date=f"eq{day}")) == 4
    assert ids(patient=client_id, date=f"gt{day}") == []
    assert ids(patient=client_id, _lastUpdated="lt2000-01-01") == []


def test_a_search_pages_by_count_and_links_the_next_page(intake: Driver) -> None:
    client_id = intake.refer()
    for _ in range(3):
        intake.screen(client_id, "GAD-7", [1] * 7)

    first = fhir(intake, "/fhir/Observation", patient=client_id, _count=4)
    links = {link["relation"]: link["url"] for link in first["link"]}
    next_page = links["next"].removeprefix("http://127.0.0.1:8001")
    second = intake.http.get(next_page, headers=bearer(intake.tenant)).get_json()

    assert (first["total"], len(first["entry"]), len(second["entry"])) == (6, 4, 2)
    assert links["next"].startswith(f"{BASE}/Observation?")
    assert "next" not in {link["relation"] for link in second["link"]}
    seen = [e["fullUrl"] for e in first["entry"] + second["entry"]]
    assert len(set(seen)) == 6


def test_unknown_search_parameters_are_ignored_unless_handling_is_strict(intake: Driver) -> None:
    client_id = intake.refer()
    query = {"patient": client_id, "colour": "red", "_format": "json"}

    lenient = intake.get("/fhir/Consent", **query)
    strict = intake.http.get(
        "/fhir/Consent",
        query_string=query,
        headers={**bearer(intake.tenant), "Prefer": "handling=strict"},
    )

    assert lenient.status_code == 200
    assert strict.status_code == 400
    outcome = OperationOutcome.model_validate(strict.get_json())
    assert any(issue.expression == ["colour"] for issue in outcome.issue)


def test_the_capability_statement_needs_no_token(intake: Driver) -> None:
    response = intake.http.get("/fhir/metadata")

    assert response.status_code == 200
    assert response.get_json()["resourceType"] == "CapabilityStatement"
