"""The timeline as an embeddable SVG picture, and session measures as FHIR R4 Observations."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import Flask

from waypoint_devkit.apps import bearer, deliver
from waypoint_progress.entrypoints.timeline import picture
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

SVG = "{http://www.w3.org/2000/svg}"
LOINC = "http://loinc.org"
MEASURES = "https://waypoint.example/fhir/CodeSystem/measures"

T = TypeVar("T")


def present(value: T | None) -> T:
    """A field the FHIR model leaves optional, which this answer must hold."""
    assert value is not None
    return value


def project(app: Flask, envelopes: Iterable[Envelope]) -> None:
    deliver(app, app.extensions["waypoint"].projector.handle, *envelopes)


@pytest.fixture
def client_id(app: Flask, journey: type[JourneyEvents]) -> str:
    events = journey()
    project(app, [*events.acceptance_journey(), events.session(ORS=[6.0, 6.5, 7.0, 7.5])])
    return events.client_id


def test_the_picture_is_well_formed_svg_with_trajectories_and_milestone_markers(
    app: Flask, client_id: str, acceptance_milestones: list[str]
) -> None:
    response = app.test_client().get(f"/v1/clients/{client_id}/timeline.svg", headers=bearer())

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == f"{SVG}svg"
    groups = root.findall(f"{SVG}g")
    markers = [g.get("data-type") for g in groups if g.get("class") == "milestone"]
    assert markers == acceptance_milestones
    lines = {g.get("data-instrument") for g in groups if g.get("class") == "trajectory"}
    assert lines == {"PHQ-9", "GAD-7", "SRS", "ORS"}


def test_alerts_are_marked_on_the_picture(app: Flask, journey: type[JourneyEvents]) -> None:
    events = journey()
    project(app, [events.referral(), events.session(PHQ9=[0, 0, 0, 0, 0, 0, 0, 0, 2])])

    response = app.test_client().get(
        f"/v1/clients/{events.client_id}/timeline.svg", headers=bearer()
    )

    groups = ET.fromstring(response.get_data()).findall(f"{SVG}g")
    assert [g.get("data-type") for g in groups if g.get("class") == "alert"] == ["risk_flag"]


def test_every_text_in_the_picture_is_escaped() -> None:
    entry = {
        "id": "1",
        "kind": "milestone",
        "type": 'x"><script>',
        "title": "<b>&</b>",
        "occurred_at": "2025-03-04T09:00:00+00:00",
    }

    svg = picture.render('client <&> "quoted"', {}, [entry])

    root = ET.fromstring(svg)
    assert "<script>" not in svg
    [marker] = [g for g in root.findall(f"{SVG}g") if g.get("class") == "milestone"]
    assert marker.get("data-type") == 'x"><script>'
    assert present(present(marker.find(f"{SVG}title")).text).startswith("<b>&</b>")


def test_the_picture_of_an_unknown_client_is_a_404_problem(app: Flask) -> None:
    response = app.test_client().get(f"/v1/clients/{uuid.uuid4()}/timeline.svg", headers=bearer())
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_observations_are_a_valid_r4_searchset_with_loinc_and_local_codes(
    app: Flask, client_id: str
) -> None:
    response = app.test_client().get(f"/fhir/Observation?patient={client_id}", headers=bearer())

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate(response.get_json())
    assert (bundle.type, bundle.total) == ("searchset", 4)
    entries = present(bundle.entry)
    observations = [Observation.model_validate(present(e.resource).model_dump()) for e in entries]
    codes = [
        (present(o.code.coding)[0].system, present(o.code.coding)[0].code) for o in observations
    ]
    assert codes == [(LOINC, "44261-6"), (LOINC, "70274-6"), (MEASURES, "SRS"), (MEASURES, "ORS")]
    phq9 = observations[0]
    assert phq9.valueInteger == 8
    assert present(phq9.subject).reference == f"http://127.0.0.1:8001/fhir/Patient/{client_id}"
    assert present(present(phq9.category)[0].coding)[0].code == "survey"
    assert present(observations[3].valueQuantity).value == 27.0
    for entry in entries:
        assert str(entry.fullUrl).startswith("http://127.0.0.1:8003/fhir/Observation/")


def test_another_tenant_finds_no_observations(app: Flask, client_id: str) -> None:
    response = app.test_client().get(
        f"/fhir/Observation?patient={client_id}", headers=bearer("clinic-b")
    )
    assert Bundle.model_validate(response.get_json()).total == 0


def test_fhir_errors_are_operation_outcomes(app: Flask) -> None:
    client = app.test_client()
    missing_patient = client.get("/fhir/Observation", headers=bearer())
    no_token = client.get(f"/fhir/Observation?patient={uuid.uuid4()}")

    for response, status in ((missing_patient, 400), (no_token, 401)):
        assert response.status_code == status
        assert response.mimetype == "application/fhir+json"
        OperationOutcome.model_validate(response.get_json())


def test_the_picture_scale_places_moments_at_the_ends_of_the_calendar_inside_the_plot() -> None:
    first, last = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    for times in ([first], [last], [first, last]):
        scale = picture.Scale(times)
        for moment in times:
            assert picture.LEFT <= scale.x(moment) <= picture.WIDTH - picture.RIGHT


def searched_ids(app: Flask, **query: str) -> list[str]:
    response = app.test_client().get("/fhir/Observation", query_string=query, headers=bearer())
    assert response.status_code == 200, response.get_data(as_text=True)
    return [e["resource"]["id"] for e in response.get_json().get("entry", [])]


def test_every_observation_of_a_search_reads_back_by_its_full_url(
    app: Flask, client_id: str
) -> None:
    bundle = app.test_client().get(f"/fhir/Observation?patient={client_id}", headers=bearer())

    for entry in bundle.get_json()["entry"]:
        path = entry["fullUrl"].removeprefix("http://127.0.0.1:8003")
        read = app.test_client().get(path, headers=bearer())
        assert read.status_code == 200, path
        assert read.get_json() == entry["resource"]
        assert read.get_json()["meta"]["lastUpdated"]


def test_another_tenants_observation_reads_as_an_unknown_one_does(
    app: Flask, client_id: str
) -> None:
    [first, *_] = searched_ids(app, patient=client_id)
    unknown = f"{uuid.uuid4()}-phq-9"

    theirs = app.test_client().get(f"/fhir/Observation/{first}", headers=bearer("clinic-b"))
    none = app.test_client().get(f"/fhir/Observation/{unknown}", headers=bearer("clinic-b"))

    assert theirs.status_code == none.status_code == 404
    OperationOutcome.model_validate(theirs.get_json())
    assert theirs.get_data(as_text=True).replace(first, "<id>") == none.get_data(
        as_text=True
    ).replace(unknown, "<id>")


def test_observations_are_searched_by_code_date_subject_and_paged(
    app: Flask, client_id: str
) -> None:
    everything = searched_ids(app, patient=client_id)

    assert searched_ids(app, subject=f"Patient/{client_id}", code=f"{MEASURES}|ORS") == [
        everything[3]
    ]
    assert searched_ids(app, patient=client_id, code="44261-6,70274-6") == everything[:2]
    assert searched_ids(app, patient=client_id, date="lt2000-01-01") == []
    assert searched_ids(app, patient=client_id, date="ge2000-01-01") == everything
    assert searched_ids(app, patient=client_id, _count="3", _offset="3") == everything[3:]
    assert searched_ids(app, patient=client_id, _id=everything[1]) == [everything[1]]
