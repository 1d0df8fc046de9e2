"""Each service's OpenAPI document states the forms the shared kit enforces: the years of clinical
dates and times, of `as_of`/`since`/`until`, the FHIR search values and the paging cursors. The
patterns are the ones the fields validate with, and they match exactly what is accepted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from tests.contract.test_openapi_documents import SERVICES, document_of
from waypoint_shared.http import fhir, paging, ranges


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {s: document_of(s, tmp_path_factory.mktemp(s)) for s in SERVICES}


def patterns(node: Any) -> Iterator[tuple[str, str]]:
    """Every (parameter or property name, pattern) pair in a document, of arrays' items too."""
    if isinstance(node, dict):
        named = {node["name"]: node["schema"]} if "schema" in node and "name" in node else {}
        for name, schema in {**named, **node.get("properties", {})}.items():
            for form in (schema, schema.get("items") or {}):
                if isinstance(form, dict) and isinstance(form.get("pattern"), str):
                    yield name, form["pattern"]
        for value in node.values():
            yield from patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from patterns(item)


def documented(documents: dict[str, dict[str, Any]], service: str, name: str) -> set[str]:
    return {p for n, p in patterns(documents[service]) if n == name}


def matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text, re.ASCII) is not None


# Each shared form, and where (service, parameter or property) a document must state it.
FORMS = {
    ranges.CLINICAL_DATE: "intake date_of_birth, goals target_date, progress date",
    ranges.CLINICAL_TIME: "intake signed_at",
    ranges.QUERY_TIME: "intake as_of, goals as_of, progress since, progress until",
    fhir.DATE_PATTERN: "intake _lastUpdated, progress date",
    fhir.PATIENT_PATTERN: "goals patient",
    fhir.IDS_PATTERN: "intake _id",
    paging.POSITION: "intake cursor",
}
PLACES = [(*place.split(), form) for form, places in FORMS.items() for place in places.split(", ")]


@pytest.mark.parametrize(("service", "name", "pattern"), PLACES)
def test_the_document_states_the_form_the_service_enforces(
    documents: dict[str, dict[str, Any]], service: str, name: str, pattern: str
) -> None:
    assert pattern in documented(documents, service, name)


def test_the_clinical_date_pattern_matches_exactly_the_days_of_1900_to_2100() -> None:
    day = date(1899, 12, 1)
    while day <= date(2101, 1, 31):
        assert matches(ranges.CLINICAL_DATE, day.isoformat()) is (1900 <= day.year <= 2100)
        day += timedelta(days=1)
    for text in (
        "1900-02-29",
        "2100-02-29",
        "2023-02-29",
        "2024-04-31",
        "2024-13-01",
        "0000-01-01",
    ):
        assert not matches(ranges.CLINICAL_DATE, text), text
    assert matches(ranges.CLINICAL_DATE, "2000-02-29")


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2026-03-01T09:30:00Z", True),
        ("1900-01-01T00:00:00+01:00", True),  # the year as written, whatever the offset
        ("2100-12-31T23:59:59.123456-14:00", True),
        ("1899-12-31T23:59:59-01:00", False),
        ("2101-01-01T00:00:00Z", False),
        ("2026-03-01T24:00:00Z", False),
        ("2026-03-01T09:30:00+24:00", False),
        ("2026-03-01T09:30:00", False),  # no offset
    ],
)
def test_a_clinical_time_is_accepted_exactly_when_the_pattern_matches(
    text: str, accepted: bool
) -> None:
    class Fact(Schema):
        at = ranges.clinical_time()

    assert matches(ranges.CLINICAL_TIME, text) is accepted
    if accepted:
        Fact().load({"at": text})
    else:
        with pytest.raises(ValidationError):
            Fact().load({"at": text})


class Read(Schema):
    as_of = ranges.query_time()


@pytest.mark.parametrize(
    "text", ["1999-12-31T23:59:59Z", "0026-06-07T09:52:56.0-08:15", "2101-01-01T00:00:00Z"]
)
def test_a_read_time_outside_the_years_2000_to_2100_is_refused(text: str) -> None:
    assert not matches(ranges.QUERY_TIME, text)
    with pytest.raises(ValidationError):
        Read().load({"as_of": text})


def test_a_read_time_after_now_reads_as_now() -> None:
    before = datetime.now(UTC)
    moment = Read().load({"as_of": "2099-01-01T00:00:00Z"})["as_of"]
    assert before <= moment <= datetime.now(UTC)
    assert Read().load({"as_of": "2001-02-03T04:05:06+01:00"})["as_of"] == datetime(
        2001, 2, 3, 3, 5, 6, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2026", True),
        ("ge2026-02", True),
        ("lt2024-02-29T10:00", True),
        ("ne2026-01-10T12:00:00.5+14:00", True),
        ("0000", False),
        ("9999-12-31", False),
        ("2023-02-29", False),
        ("2026-01-10T12:00:00+15:00", False),
        ("sa2026", False),
    ],
)
def test_a_fhir_date_value_is_accepted_exactly_when_the_pattern_matches(
    text: str, accepted: bool
) -> None:
    assert matches(fhir.DATE_PATTERN, text) is accepted
    if accepted:
        fhir.SearchSchema().load({"_lastUpdated": [text]})
    else:
        with pytest.raises(ValidationError):
            fhir.SearchSchema().load({"_lastUpdated": [text]})


def test_ids_that_name_nothing_are_well_formed_and_others_refused() -> None:
    assert fhir.SearchSchema().load({"_id": "no-such.id,0"})["ids"] == "no-such.id,0"
    for text in ("", "a,,b", "a b", "x" * 65):
        assert not matches(fhir.IDS_PATTERN, text)
        with pytest.raises(ValidationError):
            fhir.SearchSchema().load({"_id": text})


def test_the_patient_pattern_is_the_one_the_reference_is_read_with() -> None:
    assert fhir.PATIENT_REFERENCE.pattern == fhir.PATIENT_PATTERN
    client = "4059e6dd-8e78-4e35-b515-d69a1169f17a"
    for text in (client, f"Patient/{client}", f"https://ehr.example:8443/a/fhir/Patient/{client}"):
        assert matches(fhir.PATIENT_PATTERN, text)
    for text in (client[:-1], f"Patient/{client}x", f"https://a b/fhir/Patient/{client}"):
        assert not matches(fhir.PATIENT_PATTERN, text)


def test_a_position_cursor_is_digits() -> None:
    assert matches(paging.POSITION, "0") and matches(paging.POSITION, "9" * 18)
    for text in ("", "9" * 19, "-1", "bm90LWEtY3Vyc29y", "1.5"):
        assert not matches(paging.POSITION, text)
