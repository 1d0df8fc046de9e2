"""The FHIR R4 validator (waypoint_devkit.fhir_validation) catches what HL7's definitions forbid,
and every FHIR resource the three services serve after a real journey passes it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit import fhir_validation
from waypoint_devkit.fhir_validation import Issue, ValidatorError, errors, summary, validate
from waypoint_devkit.infrastructure import unavailable
from waypoint_devkit.journey import GAD7_6, GAD7_12, PHQ9_8, PHQ9_15, SRS_38
from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until

# --- the wrapper, without Java -------------------------------------------------------------------


def test_issues_are_read_from_the_last_line_of_the_output() -> None:
    output = 'noise\n[{"resource": 1, "severity": "error", "path": "Patient.gender",'
    output += ' "message": null, "rule": "binding-required"}]\n\n'
    assert fhir_validation.parse_issues(output) == [
        Issue(
            severity="error", path="Patient.gender", message="", rule="binding-required", resource=1
        )
    ]
    with pytest.raises(ValidatorError, match="printed nothing"):
        fhir_validation.parse_issues("\n")
    with pytest.raises(ValidatorError, match="printed no issues"):
        fhir_validation.parse_issues("Exception in thread main")


def test_one_batch_is_one_jvm_given_every_resource_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def fake_java(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        own, batch = Path(command[-2]), Path(command[-1])
        seen = [json.loads(p.read_text()) for p in sorted(batch.iterdir())]
        assert [json.loads(p.read_text()) for p in sorted(own.iterdir())] == [{"id": "cs"}]
        issues = [
            {"resource": i, "severity": "warning", "path": r["id"], "message": "m", "rule": "x"}
            for i, r in enumerate(seen)
        ]
        return subprocess.CompletedProcess(command, 0, json.dumps(issues), "")

    monkeypatch.setattr(fhir_validation, "prepare", lambda: tmp_path)
    monkeypatch.setattr(fhir_validation, "_java", lambda: "java")
    monkeypatch.setattr(fhir_validation.subprocess, "run", fake_java)
    resources = [{"id": f"r{i}"} for i in range(12)]

    issues = validate(resources, definitions=[{"id": "cs"}])

    assert len(calls) == 1 and calls[0][-3] == "FhirCheck"
    assert [(i["resource"], i["path"]) for i in issues] == [(i, f"r{i}") for i in range(12)]
    assert validate([]) == [] and len(calls) == 1  # nothing to check: no JVM


def test_a_failing_validator_is_an_error_never_a_pass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fhir_validation, "prepare", lambda: tmp_path)
    monkeypatch.setattr(fhir_validation, "_java", lambda: "java")
    monkeypatch.setattr(
        fhir_validation.subprocess,
        "run",
        lambda command, **_: subprocess.CompletedProcess(command, 1, "", "OutOfMemoryError"),
    )
    with pytest.raises(ValidatorError, match="OutOfMemoryError"):
        validate([{"resourceType": "Patient"}])


def test_the_summary_groups_issues_by_rule() -> None:
    issue = Issue(severity="warning", path="Patient", message="m", rule="dom-6", resource=0)
    other = Issue(severity="error", path="Patient.x", message="n", rule="cardinality", resource=1)
    lines = summary([issue, issue, other]).splitlines()
    assert lines[0].split()[:3] == ["error", "cardinality", "x1"]
    assert lines[1].split()[:3] == ["warning", "dom-6", "x2"]
    assert errors([issue, other]) == [other]


# --- planted faults, through the real validator -------------------------------------------------

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o-1",
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">PHQ-9</div>'},
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
    "subject": {"reference": "http://127.0.0.1:8001/fhir/Patient/p-1"},
    "effectiveDateTime": "2026-01-02",
    "valueInteger": 15,
}
PATIENT: dict[str, Any] = {**{k: OBSERVATION[k] for k in ("id", "text")}, "resourceType": "Patient"}
SUITE = "https://waypoint.example/fhir"
CODES = {
    "resourceType": "CodeSystem",
    "id": "measures",
    "url": f"{SUITE}/CodeSystem/measures",
    "status": "active",
    "content": "complete",
    "concept": [{"code": "ors-total", "display": "ORS total"}],
}
QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "id": "ors",
    "url": f"{SUITE}/Questionnaire/ors",
    "status": "active",
    "item": [{"linkId": "1", "text": "Individually", "type": "decimal"}],
}
RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    **{k: OBSERVATION[k] for k in ("id", "text")},
    "questionnaire": QUESTIONNAIRE["url"],
    "status": "completed",
}


def without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


# (what is wrong, the resource, the rule that must catch it, the path it names)
PLANTED = [
    ("invariant obs-6", {**OBSERVATION, "dataAbsentReason": {"text": "x"}}, "obs-6", "Observation"),
    ("invariant pat-1", {**PATIENT, "contact": [{"gender": "male"}]}, "pat-1",
     "Patient.contact[0]"),
    ("required binding", {**OBSERVATION, "status": "done"}, "binding-required",
     "Observation.status"),
    ("bad date", {**PATIENT, "birthDate": "2020-13-45"}, "format", "Patient.birthDate"),
    ("no such day", {**PATIENT, "birthDate": "2021-02-30"}, "format", "Patient.birthDate"),
    ("missing code", without(OBSERVATION, "code"), "cardinality", "Observation.code"),
    ("too many", {**PATIENT, "gender": ["male"]}, "type", "Patient.gender"),
    ("wrong type", {**OBSERVATION, "valueInteger": "3"}, "type", "Observation.value[x]"),
    ("unknown element", {**OBSERVATION, "colour": "red"}, "unknown-element", "Observation.colour"),
    ("bad choice type", {**without(OBSERVATION, "valueInteger"), "valueNumber": 3},
     "unknown-element", "Observation.valueNumber"),
    ("invariant in a Bundle", {"resourceType": "Bundle", "type": "searchset",
     "entry": [{"resource": {**OBSERVATION, "status": "done"}}]}, "binding-required",
     "Bundle.entry[0].resource.status"),
    ("invariant of a data type", {**OBSERVATION, "effectivePeriod": {"start": "2026-02-01",
     "end": "2026-01-01"}} | {"effectiveDateTime": None}, "per-1", "Observation.effectivePeriod"),
    ("not a code of the suite", {**OBSERVATION, "code": {"coding": [{"system": CODES["url"],
     "code": "ors-sum"}]}}, "code-unknown", "Observation.code.coding[0]"),
    ("unknown linkId", {**RESPONSE, "item": [{"linkId": "9"}]}, "questionnaire-linkid",
     "QuestionnaireResponse.item[0]"),
    ("reference to no contained resource", {**OBSERVATION, "subject": {"reference": "#p1"}},
     "ref-1", "Observation.subject"),
    ("answer of another type", {**RESPONSE, "item": [{"linkId": "1", "answer": [{"valueString":
     "7"}]}]}, "questionnaire-answer-type", "QuestionnaireResponse.item[0].answer[0].valueString"),
]  # fmt: skip
VALID = [
    OBSERVATION,
    {**OBSERVATION, "code": {"coding": [{"system": CODES["url"], "code": "ors-total"}]}},
    {**RESPONSE, "item": [{"linkId": "1", "answer": [{"valueDecimal": 7.5}]}]},
    {**PATIENT, "gender": "female", "birthDate": "1992-06-30"},
    {**OBSERVATION, "performer": [{"display": "Dr Okafor"}]},  # ref-1 as HL7 corrects it
]


@pytest.fixture(scope="module")
def checked() -> list[list[Issue]]:
    """Every planted and valid resource checked in one batch, the issues of each in order."""
    try:
        fhir_validation.prepare()
    except (ValidatorError, RuntimeError) as error:
        unavailable(f"no FHIR validator: {error}")
    resources = [
        {k: v for k, v in resource.items() if v is not None} for _, resource, _, _ in PLANTED
    ] + VALID
    issues = validate(resources, definitions=[CODES, QUESTIONNAIRE])
    return [[i for i in issues if i["resource"] == n] for n in range(len(resources))]


@pytest.mark.java
@pytest.mark.parametrize(("fault", "rule", "path"), [(f, r, p) for f, _, r, p in PLANTED])
def test_a_planted_fault_is_caught_by_its_rule(
    checked: list[list[Issue]], fault: str, rule: str, path: str
) -> None:
    index = [f for f, _, _, _ in PLANTED].index(fault)
    found = errors(checked[index])
    assert (rule, path) in [(i["rule"], i["path"]) for i in found], summary(checked[index])


@pytest.mark.java
def test_valid_resources_have_no_errors(checked: list[list[Issue]]) -> None:
    for issues in checked[len(PLANTED) :]:
        assert not errors(issues), summary(issues)
    loinc = [i["rule"] for i in checked[len(PLANTED)]]
    assert loinc == ["system-unknown"]  # LOINC is not among the definitions: a warning


# --- every resource the suite serves, after a real journey -------------------------------------

THERAPIST = {"role": "therapist", "id": "t-okafor"}
CLIENT = {"role": "client", "id": "c-amara"}
# Every FHIR endpoint of the suite: (service, path). {client} and {goal} are the journey's ids.
# A searchset's Bundle is checked as a whole (its entries with it).
ENDPOINTS = [
    ("intake", "/fhir/metadata"),
    ("intake", "/fhir/Patient/{client}"),
    ("intake", "/fhir/EpisodeOfCare?patient={client}"),
    ("intake", "/fhir/Consent?patient={client}"),
    ("intake", "/fhir/QuestionnaireResponse?patient={client}"),
    ("intake", "/fhir/Observation?patient={client}"),
    ("intake", "/fhir/Questionnaire?url=https://waypoint.example/fhir/Questionnaire/phq-9"),
    ("intake", "/fhir/Questionnaire/gad-7"),
    ("intake", "/fhir/StructureDefinition?_count=50"),
    ("intake", "/fhir/CodeSystem?_count=50"),
    ("goals", "/fhir/metadata"),
    ("goals", "/fhir/Goal/{goal}"),
    ("goals", "/fhir/Goal?patient={client}"),
    ("goals", "/fhir/CarePlan?patient={client}"),
    ("goals", "/fhir/CarePlan/{client}"),
    ("goals", "/fhir/CodeSystem/measures"),
    ("progress", "/fhir/metadata"),
    ("progress", "/fhir/Observation?patient={client}"),
    ("progress", "/fhir/CodeSystem?url=https://waypoint.example/fhir/CodeSystem/measures"),
]
# The suite's own definitions resolve the codes and canonicals the resources use.
DEFINITION_TYPES = ("CodeSystem", "Questionnaire", "StructureDefinition")


class Api:
    def __init__(self, suite: Any, token: str):
        self.suite, self.headers = suite, {"Authorization": f"Bearer {token}"}

    def send(self, method: str, service: str, path: str, body: Any = None) -> Any:
        url = url_of(self.suite, f"{service}-web") + path
        response = requests.request(method, url, headers=self.headers, json=body, timeout=10)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def once_known(self, service: str, path: str, body: dict[str, Any]) -> Any:
        """POST once the service has the referral (409 "not known yet" until then)."""

        def posted() -> Any:
            url = url_of(self.suite, f"{service}-web") + path
            response = requests.post(url, headers=self.headers, json=body, timeout=10)
            assert response.status_code in (200, 201, 409), response.text
            return response.json() if response.status_code != 409 else None

        return wait_until(posted, timeout=20, what=f"{service} to know the client")


def journey(api: Api) -> dict[str, str]:
    """Referral, three consents, PHQ-9 and GAD-7 screenings, a therapist assigned, intake done,
    a goal with a target, agreed, with a step, two sessions with all four measures."""
    therapist = api.send("POST", "intake", "/v1/therapists", {
        "name": "Dr Okafor", "languages": ["en"], "modalities": ["cbt"],
        "specialties": ["low mood"], "capacity": 5,
        "recorded_by": {"role": "administrator", "id": "admin-1"},
    })["therapist_id"]  # fmt: skip
    client = api.send("POST", "intake", "/v1/clients", {
        "given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30",
        "preferred_language": "en", "presenting_concerns": ["low mood"],
    })["client_id"]  # fmt: skip
    path = f"/v1/clients/{client}"
    signed = {"document_version": "2026-01", "signed_by": "Amara Osei",
              "signed_at": datetime.now(UTC).isoformat(), "recorded_by": CLIENT}  # fmt: skip
    for extra in ({"kind": "treatment"}, {"kind": "confidentiality", "limits_acknowledged": True},
                  {"kind": "data_sharing", "scopes": ["general practitioner"]}):  # fmt: skip
        api.send("POST", "intake", f"{path}/consents", {**signed, **extra})
    for instrument, items in (("PHQ-9", PHQ9_15), ("GAD-7", GAD7_12)):
        body = {"instrument": instrument, "items": items, "recorded_by": THERAPIST}
        api.send("POST", "intake", f"{path}/screenings", body)
    api.send("GET", "intake", f"{path}/therapist-matches")
    api.send("PUT", "intake", f"{path}/therapist",
             {"therapist_id": therapist, "recorded_by": THERAPIST})  # fmt: skip
    api.send("POST", "intake", f"{path}/completion", {"recorded_by": THERAPIST})
    goal = api.once_known("goals", f"/v1/clients/{client}/goals", {
        "title": "Sleep through the night", "modality": "cbt", "priority": "high",
        "proposed_by": THERAPIST, "target": {"instrument": "PHQ-9", "score": 9},
    })["goal_id"]  # fmt: skip
    api.send("POST", "goals", f"/v1/goals/{goal}/agreement", {"agreed_by": CLIENT})
    api.send("POST", "goals", f"/v1/goals/{goal}/steps", {"description": "Keep a sleep diary"})
    measures = [{"instrument": "PHQ-9", "items": PHQ9_8}, {"instrument": "GAD-7", "items": GAD7_6},
                {"instrument": "ORS", "items": [6.5, 7.0, 6.0, 7.5]},
                {"instrument": "SRS", "items": SRS_38}]  # fmt: skip
    sessions = []
    for _ in range(2):
        session = {"date": date.today().isoformat(), "attended": True, "measures": measures}
        sessions.append(api.once_known("progress", f"/v1/clients/{client}/sessions", session))
    amended = f"/v1/clients/{client}/sessions/{sessions[1]['session_id']}/amendments"
    api.send("POST", "progress", amended, {"measures": measures[:2], "reason": "Typed in error"})
    return {"client": client, "goal": goal}


def served(api: Api, ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Every resource of every endpoint, and every entry of a searchset read again by its
    fullUrl: (where it came from, resource)."""
    found = []
    for service, template in ENDPOINTS:
        where = f"{service} {template.format(**ids)}"
        found.append((where, api.send("GET", service, template.format(**ids))))
    entries = {e["fullUrl"] for _, r in found for e in r.get("entry", [])}
    for url in sorted(entries):
        response = requests.get(url, headers=api.headers, timeout=10)
        assert response.ok, f"GET {url}: {response.status_code} {response.text}"
        found.append((f"read {url}", response.json()))
    return found


def own_definitions(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The suite's own definitions among what was served, each canonical once."""
    inside = [e["resource"] for r in resources for e in r.get("entry", [])]
    found = [r for r in resources + inside if r["resourceType"] in DEFINITION_TYPES]
    return list({r["url"]: r for r in reversed(found)}.values())


# Every warning the suite's output may give, each listed with its reason in docs/fhir.md
# ("Warnings that stay"): (rule, what the message names). Any other warning fails the test.
ALLOWED_WARNINGS = [
    ("system-unknown", "http://loinc.org"),  # LOINC needs a terminology server
    ("system-unknown", "urn:ietf:bcp:47"),  # so do BCP-47 language tags
    ("dom-6", "narrative"),  # no narrative: the data is the record
    ("binding-extensible", "ValueSet/observation-interpretation"),  # bands are not H/L/N/A
    ("binding-extensible", "ValueSet/consent-category"),  # consent kinds: our own codes
    ("valueset-unexpandable", "ValueSet/mimetypes"),  # BCP-13 needs a terminology server
]


def unexplained(issues: list[Issue]) -> list[Issue]:
    warnings = [i for i in issues if i["severity"] == "warning"]
    return [
        i
        for i in warnings
        if not any(i["rule"] == r and named in i["message"] for r, named in ALLOWED_WARNINGS)
    ]


def statuses(api: Api, client: str) -> set[str]:
    bundle = api.send("GET", "progress", f"/fhir/Observation?patient={client}")
    return {e["resource"]["status"] for e in bundle.get("entry", [])}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    with own_suite(tmp_path_factory, kafka_bootstrap, "fhirvalid") as running:
        yield running


@pytest.mark.e2e
@pytest.mark.kafka
@pytest.mark.java
@pytest.mark.timeout(420)
def test_every_resource_the_suite_serves_after_a_journey_is_valid_fhir_r4(
    suite: Any, token: Callable[..., str]
) -> None:
    try:
        fhir_validation.prepare()
    except (ValidatorError, RuntimeError) as error:
        unavailable(f"no FHIR validator: {error}")
    api = Api(suite, token())
    ids = journey(api)
    wait_until(
        lambda: len(api.send("GET", "progress", f"/fhir/Observation?patient={ids['client']}")
                    .get("entry", [])) >= 8,
        timeout=30,
        what="progress's Observations of both sessions",
    )  # fmt: skip
    wait_until(
        lambda: "amended" in statuses(api, ids["client"]),
        timeout=30,
        what="progress's Observations of the amended session",
    )
    responses = served(api, ids)
    resources = [resource for _, resource in responses]
    types = {r["resourceType"] for r in resources}
    assert {"CapabilityStatement", "Patient", "EpisodeOfCare", "Consent", "QuestionnaireResponse",
            "Questionnaire", "Observation", "Goal", "CarePlan", "CodeSystem",
            "StructureDefinition", "Bundle"} <= types  # fmt: skip
    assert {"final", "amended", "entered-in-error"} <= statuses(api, ids["client"])
    issues = validate(resources, definitions=own_definitions(resources))
    print("\nFHIR validation of the journey's resources:\n" + summary(issues))
    found = [
        f"{responses[i['resource']][0]}: {i['path']} [{i['rule']}] {i['message']}"
        for i in errors(issues)
    ]
    assert not found, "\n".join(found)
    assert not unexplained(issues), summary(unexplained(issues))


def test_a_warning_not_listed_with_its_reason_is_unexplained() -> None:
    listed = Issue(severity="warning", path="Patient", message="has no narrative", rule="dom-6")
    other = Issue(severity="warning", path="Observation.code", message="x", rule="code-display")
    other_system = Issue(**{**other, "rule": "system-unknown", "message": "http://snomed.info/sct"})
    assert unexplained([listed, other, other_system]) == [other, other_system]
