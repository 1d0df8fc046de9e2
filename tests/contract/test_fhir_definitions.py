"""The suite's own FHIR definitions hold everything the services emit: every coding of a suite
code system names a code of the CodeSystem every base serves, and every QuestionnaireResponse
answers its Questionnaire item by item, with the answer types the items declare."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.structuredefinition import StructureDefinition
from flask import Flask

from waypoint_devkit.apps import bearer
from waypoint_goals.domain.events import GoalProposed
from waypoint_goals.domain.goal import Goal
from waypoint_goals.entrypoints.fhir.mapping import goal_resource
from waypoint_intake.domain import screening as intake_scoring
from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.fhir import mapping as intake_fhir
from waypoint_progress.domain import scoring as progress_scoring
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.entrypoints.fhir.observations import observation
from waypoint_shared.catalog import MODALITIES, fhir_definitions
from waypoint_shared.catalog.events.goals import target_direction
from waypoint_shared.catalog.events.intake import AGE_GROUPS, CONSENT_KINDS, ENDING_REASONS
from waypoint_shared.catalog.instruments import BANDS, GAD7_BANDS, NAMES, PHQ9_BANDS
from waypoint_shared.catalog.questionnaires import ORDINAL_VALUE

SUITE = "https://waypoint.example/fhir/"
CLIENT_ID = "5f1c6d5e-0000-4000-8000-000000000001"
RECORDED = datetime(2025, 11, 5, 9, 30, tzinfo=UTC)
DEFINITIONS = fhir_definitions.all()
BY_URL = {d["url"]: d for d in DEFINITIONS}
MODELS = {"CodeSystem": CodeSystem, "Questionnaire": Questionnaire}
MODELS["StructureDefinition"] = StructureDefinition


def codings(resource: Any) -> Iterator[dict[str, Any]]:
    """Every Coding in a resource, however deep (a dict with a system and a code)."""
    if isinstance(resource, dict):
        if isinstance(resource.get("system"), str) and "code" in resource:
            yield resource
        for value in resource.values():
            yield from codings(value)
    elif isinstance(resource, list):
        for value in resource:
            yield from codings(value)


def screenings() -> Iterator[dict[str, Any]]:
    """A screening of each instrument at the lowest total of each of its bands, as intake's
    domain scores it."""
    for name, measure in intake_scoring.INSTRUMENTS.items():
        for lowest, _band in measure.bands:
            items = [min(3, max(0, lowest - 3 * n)) for n in range(measure.item_count)]
            scored = intake_scoring.score(name, items)
            yield {
                "screening_id": str(uuid.uuid4()),
                "instrument": name,
                "items": items,
                "total": scored.total,
                "severity": scored.severity,
                "administered_on": "2025-11-04",
            }


def intake_resources() -> Iterator[dict[str, Any]]:
    for kind in CONSENT_KINDS:
        granted = {
            "kind": kind,
            "document_version": "2025-01",
            "signed_by": "Amara Osei",
            "signed_at": "2025-02-01T10:00:00Z",
            "status": "active",
            "version": 2,
            "scopes": ["gp-letters"] if kind == "data_sharing" else [],
        }
        yield intake_fhir.consent(CLIENT_ID, granted)
    for age_group, ending_reason in zip(AGE_GROUPS * 4, ENDING_REASONS, strict=False):
        client = SimpleNamespace(
            client_id=CLIENT_ID,
            status="discharged",
            details={"age_group": age_group, "referred_on": "2025-01-02"},
            discharged_on="2025-06-01",
            ending_reason=ending_reason,
        )
        yield intake_fhir.episode_of_care(cast(Client, client))
    for screening in screenings():
        yield intake_fhir.questionnaire_response(CLIENT_ID, screening, RECORDED)
        yield from intake_fhir.observations(CLIENT_ID, screening, RECORDED)


def progress_resources() -> Iterator[dict[str, Any]]:
    """An Observation of each instrument at every half point of its range, for each age group,
    banded as progress's domain bands it."""
    thresholds = progress_scoring.Thresholds()
    for name in NAMES:
        highest = progress_scoring.MAXIMUM_TOTAL[name]
        for age_group in (*AGE_GROUPS, None):
            for total in (n / 2 for n in range(int(highest * 2) + 1)):
                band = progress_scoring.band(name, total, thresholds, age_group)
                measure = {"instrument": name, "total": total, "band": band}
                yield observation(CLIENT_ID, session(), measure)


def session() -> SourceEvent:
    return SourceEvent(
        event_id=str(uuid.uuid4()),
        service="progress",
        name="session_recorded",
        tenant_id="clinic-a",
        client_id=CLIENT_ID,
        occurred_at=RECORDED,
        stream_version=1,
        facts={"session_id": str(uuid.uuid4()), "date": "2025-11-05"},
    )


def goals_resources() -> Iterator[dict[str, Any]]:
    for modality, instrument in zip(MODALITIES, NAMES * 2, strict=False):
        target = {
            "instrument": instrument,
            "score": 10.0,
            "direction": target_direction(instrument),
        }
        party = {"role": "client", "id": "a"}
        proposed = GoalProposed(
            "g-1", CLIENT_ID, "Feel better", modality, "high", party, target=target
        )
        yield goal_resource(Goal.rebuilt("g-1", [proposed]))


def emitted() -> list[dict[str, Any]]:
    """Every resource above, built as a request builds them: references from the public URLs."""
    app = Flask(__name__)
    urls = {s: f"https://{s}.clinic.example" for s in ("intake", "goals", "progress")}
    app.config.update(WAYPOINT_PUBLIC_URL=urls["intake"], WAYPOINT_PUBLIC_URLS=urls)
    with app.app_context():
        return [*intake_resources(), *progress_resources(), *goals_resources()]


EMITTED = emitted()


def test_every_definition_is_a_valid_r4_resource_with_a_canonical_under_the_suites_base() -> None:
    for definition in DEFINITIONS:
        MODELS[definition["resourceType"]].model_validate(definition)
        kind, name = definition["resourceType"], definition["id"]
        assert definition["url"] == f"{SUITE}{kind}/{name}"
        assert definition["version"]
    assert len(BY_URL) == len(DEFINITIONS)


def test_each_code_system_is_complete_with_unique_codes_and_a_count() -> None:
    for system in fhir_definitions.code_systems():
        codes = [c["code"] for c in system["concept"]]
        assert len(set(codes)) == len(codes) == system["count"], system["id"]
        assert system["content"] == "complete"
        assert all(c["display"] for c in system["concept"])


def test_every_suite_coding_the_services_emit_is_a_code_of_a_served_code_system() -> None:
    emitted = [c for r in EMITTED for c in codings(r) if c["system"].startswith(SUITE)]

    assert emitted
    for coding in emitted:
        system = BY_URL.get(coding["system"])
        assert system is not None and system["resourceType"] == "CodeSystem", coding
        assert coding["code"] in {c["code"] for c in system["concept"]}, coding


def test_every_suite_extension_the_services_emit_is_defined_for_its_resource() -> None:
    extended = [(r["resourceType"], e) for r in EMITTED for e in r.get("extension", [])]

    assert extended
    for resource_type, extension in extended:
        definition = BY_URL[extension["url"]]
        assert definition["resourceType"] == "StructureDefinition"
        assert definition["context"] == [{"type": "element", "expression": resource_type}]


def test_every_band_the_services_score_is_coded_as_an_interpretation() -> None:
    interpretations = [i for r in EMITTED for i in r.get("interpretation", [])]

    assert interpretations
    for interpretation in interpretations:
        [coding] = interpretation["coding"]
        assert coding["system"] == fhir_definitions.code_system_url("measures")
        assert coding["code"].endswith(interpretation["text"].replace(" ", "-"))


def test_the_catalogs_bands_are_the_bands_both_services_score_by() -> None:
    assert intake_scoring.PHQ9.bands == PHQ9_BANDS
    assert intake_scoring.GAD7.bands == GAD7_BANDS
    assert tuple(reversed(progress_scoring.PHQ9_BANDS)) == PHQ9_BANDS
    assert tuple(reversed(progress_scoring.GAD7_BANDS)) == GAD7_BANDS
    assert set(BANDS) == set(NAMES)


def test_every_questionnaire_response_answers_its_questionnaire_item_by_item() -> None:
    responses = [r for r in EMITTED if r["resourceType"] == "QuestionnaireResponse"]

    assert responses
    for response in responses:
        url, version = response["questionnaire"].split("|")
        questionnaire = BY_URL[url]
        assert questionnaire["version"] == version
        items = {i["linkId"]: i for i in questionnaire["item"]}
        assert [i["linkId"] for i in response["item"]] == list(items)
        for answered in response["item"]:
            [answer] = answered["answer"]
            assert_answers(items[answered["linkId"]], answer)
        weights = [weight(i["answer"][0]) for i in response["item"][:-1]]
        assert response["item"][-1]["answer"][0]["valueInteger"] == sum(weights)


def assert_answers(item: dict[str, Any], answer: dict[str, Any]) -> None:
    if item["type"] == "choice":
        options = [
            (o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in item["answerOption"]
        ]
        assert set(answer) == {"valueCoding"}
        assert (answer["valueCoding"]["system"], answer["valueCoding"]["code"]) in options
    else:
        assert item["type"] == "integer" and set(answer) == {"valueInteger"}


def weight(answer: dict[str, Any]) -> int:
    [extension] = answer["valueCoding"]["extension"]
    assert extension["url"] == ORDINAL_VALUE
    return int(extension["valueDecimal"])


@pytest.mark.parametrize("service", ["intake", "goals", "progress"])
def test_every_base_serves_the_code_systems(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WAYPOINT_ENV", "development")
    app = importlib.import_module(f"waypoint_{service}.entrypoints.app").create_app()
    client = app.test_client()

    for system in fhir_definitions.code_systems():
        read = client.get(f"/fhir/CodeSystem/{system['id']}", headers=bearer())
        found = client.get(
            "/fhir/CodeSystem", query_string={"url": system["url"]}, headers=bearer()
        )
        assert read.status_code == 200 and read.mimetype == "application/fhir+json"
        assert read.get_json() == system
        assert [e["resource"] for e in found.get_json()["entry"]] == [system]
    app.extensions["waypoint"].engine.dispose()
