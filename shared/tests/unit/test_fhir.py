"""The FHIR kit of the three bases: absolute references, date and token search values, paged
searchset Bundles, strict handling of unknown parameters, and the CapabilityStatement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError

from waypoint_shared.http import fhir
from waypoint_shared.http.problems import Problem

URLS = {s: f"https://{s}.clinic.example" for s in ("intake", "goals", "progress")}
CLIENT = "5f1c6d5e-0000-4000-8000-000000000001"


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(WAYPOINT_PUBLIC_URL=URLS["goals"], WAYPOINT_PUBLIC_URLS=URLS)
    return app


@pytest.fixture
def context(app: Flask) -> Iterator[None]:
    with app.test_request_context("/fhir/Goal?patient=x&_count=2"):
        yield


def observation(n: int, day: str, code: str = "44261-6", updated: str = "") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{n}",
        "meta": {"lastUpdated": updated or f"{day}T12:00:00+00:00"},
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": day,
    }


def load(schema: type[fhir.SearchSchema], **query: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = schema().load(query)
    return loaded


def test_a_patient_reference_is_intakes_and_any_other_this_services_or_the_named_one(
    context: None,
) -> None:
    assert fhir.reference("Patient", CLIENT) == {
        "reference": f"https://intake.clinic.example/fhir/Patient/{CLIENT}"
    }
    assert (
        fhir.reference("Goal", "g-1")["reference"] == "https://goals.clinic.example/fhir/Goal/g-1"
    )
    assert fhir.reference("Observation", "o-1", "progress")["reference"].startswith(
        "https://progress.clinic.example/fhir/"
    )


@pytest.mark.parametrize(
    ("value", "day", "matches"),
    [
        ("2026-01-10", "2026-01-10", True),
        ("eq2026-01", "2026-01-31", True),
        ("eq2026-01", "2026-02-01", False),
        ("ne2026-01-10", "2026-01-10", False),
        ("lt2026-01-10", "2026-01-09", True),
        ("lt2026-01-10", "2026-01-10", False),
        ("le2026-01-10", "2026-01-10", True),
        ("gt2026-01-10", "2026-01-10", False),
        ("gt2026-01-10", "2026-01-11", True),
        ("ge2026-01-10", "2026-01-10", True),
        ("ge2026-01-10T12:00:00Z", "2026-01-10T11:59:59+00:00", False),
        ("ge2026-01-10T12:00:00+01:00", "2026-01-10T11:30:00Z", True),
        ("2026", "2026-12-31", True),
    ],
)
def test_a_date_search_value_compares_spans_at_their_precision(
    value: str, day: str, matches: bool
) -> None:
    [bound] = load(fhir.SearchSchema, _lastUpdated=[value])["last_updated"]
    assert bound.admits(fhir.span(day)) is matches


@pytest.mark.parametrize("value", ["2026-13", "sa2026-01-01", "yesterday", "9999-12-31", "0000"])
def test_a_date_search_value_fhir_cannot_read_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        load(fhir.SearchSchema, _lastUpdated=[value])
    assert "_lastUpdated" in refused.value.messages


def test_a_period_with_an_open_end_runs_on() -> None:
    span = fhir.span_of({"start": "2026-01-01"})
    assert span is not None
    assert fhir.DateBound("gt", fhir.span("2030-01-01")).admits(span)


def test_tokens_match_by_code_by_system_and_code_and_by_any_of_several(context: None) -> None:
    class Coded(fhir.PatientSearchSchema):
        code = fhir.token_param("code")

    def codes(value: str) -> list[str]:
        query = load(Coded, patient=CLIENT, code=value)
        found = [observation(1, "2026-01-01"), observation(2, "2026-01-02", code="70274-6")]
        return [r["id"] for r in found if fhir.matches(r, query)]

    assert codes("44261-6") == ["o-1"]
    assert codes("http://loinc.org|70274-6") == ["o-2"]
    assert codes("http://snomed.info/sct|70274-6") == []
    assert codes("44261-6,70274-6") == ["o-1", "o-2"]
    assert codes("http://loinc.org|") == ["o-1", "o-2"]


def test_a_patient_is_named_by_id_reference_or_intakes_url_and_another_servers_matches_nothing(
    context: None,
) -> None:
    for named in (CLIENT, f"Patient/{CLIENT}", f"{URLS['intake']}/fhir/Patient/{CLIENT}"):
        assert load(fhir.PatientSearchSchema, patient=named)["patient"] == CLIENT
    elsewhere = load(fhir.PatientSearchSchema, patient=f"https://ehr.example/fhir/Patient/{CLIENT}")
    assert fhir.PatientSearchSchema.client_of(elsewhere) == ""
    with pytest.raises(ValidationError) as refused:
        load(fhir.PatientSearchSchema)
    assert "patient" in refused.value.messages


def test_a_searchset_pages_with_count_and_offset_and_links_the_next_page(app: Flask) -> None:
    resources = [observation(n, f"2026-01-{n:02d}") for n in range(1, 6)]
    with app.test_request_context("/fhir/Observation?patient=p&_count=2&_offset=2&x=1"):
        query = load(fhir.SearchSchema, _count="2", _offset="2")
        bundle = fhir.searchset(resources, query)

    assert (bundle["type"], bundle["total"]) == ("searchset", 5)
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["o-3", "o-4"]
    assert bundle["entry"][0]["fullUrl"] == "https://goals.clinic.example/fhir/Observation/o-3"
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    base = "https://goals.clinic.example/fhir/Observation?patient=p&x=1&_count=2"
    assert links == {"self": f"{base}&_offset=2", "next": f"{base}&_offset=4"}


def test_the_last_page_has_no_next_link_and_count_is_at_most_500(app: Flask) -> None:
    resources = [observation(n, "2026-01-01") for n in range(1, 4)]
    with app.test_request_context("/fhir/Observation?_count=100000"):
        bundle = fhir.searchset(resources, load(fhir.SearchSchema, _count="100000"))

    assert [link["relation"] for link in bundle["link"]] == ["self"]
    assert "_count=500" in bundle["link"][0]["url"]
    assert len(bundle["entry"]) == 3


def test_without_count_a_page_holds_50(app: Flask) -> None:
    resources = [observation(n, "2026-01-01") for n in range(120)]
    with app.test_request_context("/fhir/Observation"):
        bundle = fhir.searchset(resources, {})

    assert (bundle["total"], len(bundle["entry"])) == (120, 50)
    assert bundle["link"][1]["url"].endswith("_count=50&_offset=50")


def test_last_updated_and_id_filter_the_matches(app: Flask) -> None:
    resources = [observation(n, f"2026-01-{n:02d}") for n in range(1, 6)]
    with app.test_request_context("/fhir/Observation"):
        query = load(
            fhir.SearchSchema, _lastUpdated=["ge2026-01-02", "lt2026-01-05"], _id="o-3,o-4,o-9"
        )
        bundle = fhir.searchset(resources, query)

    assert [e["resource"]["id"] for e in bundle["entry"]] == ["o-3", "o-4"]


def test_unknown_parameters_are_ignored_unless_handling_is_strict(app: Flask) -> None:
    known = ["patient", "_count"]
    with app.test_request_context("/fhir/Goal?patient=p&colour=red&_format=json"):
        fhir.refuse_unknown_when_strict([*known, "_format"])
    strict = {"Prefer": "return=minimal, handling=strict"}
    request = app.test_request_context("/fhir/Goal?patient=p&colour=red", headers=strict)
    with request, pytest.raises(Problem) as refused:
        fhir.refuse_unknown_when_strict(known)
    assert refused.value.status == 400
    assert refused.value.extra["errors"] == {"colour": ["not a search parameter of this resource"]}


def test_the_capability_statement_lists_what_the_routes_declared(app: Flask) -> None:
    from flask_smorest import Blueprint

    blp = Blueprint("fhir", __name__, url_prefix="/fhir")
    capabilities = fhir.Capabilities("Waypoint test", ("goals:read",))

    @capabilities.read(blp, "Goal", "<uuid:goal_id>")
    def read_goal(goal_id: Any) -> Any:
        raise NotImplementedError

    @capabilities.search(blp, "Goal", fhir.PatientSearchSchema)
    def search_goals(query: dict[str, Any]) -> Any:
        raise NotImplementedError

    with app.test_request_context("/fhir/metadata"):
        statement = capabilities.statement()

    assert (statement["status"], statement["kind"], statement["fhirVersion"]) == (
        "active",
        "instance",
        "4.0.1",
    )
    assert statement["format"] == ["json"]
    [rest] = statement["rest"]
    [goal] = rest["resource"]
    assert rest["mode"] == "server"
    assert goal["interaction"] == [{"code": "read"}, {"code": "search-type"}]
    params = {(p["name"], p["type"]) for p in goal["searchParam"]}
    assert params == {("_id", "token"), ("_lastUpdated", "date"), ("patient", "reference")}
