"""What the OpenAPI document states about a request is what intake enforces: a request the
document allows is not refused for its shape, and one it refuses is not accepted."""

from __future__ import annotations

import re
from typing import Any

import langcodes
import pytest
from marshmallow import ValidationError

from waypoint_intake.domain.screening import INSTRUMENTS
from waypoint_intake.entrypoints.client_schemas import LANGUAGE_TAG_PATTERN, language_tag

from .conftest import CLINICIAN, REFERRAL, THERAPIST, Driver

ACCEPTED_TAGS = ["en", "de", "pt-BR", "sr-Latn", "zh-Hant-TW", "es-419", "yue", "und"]
REFUSED_TAGS = ["EN", "en-us", "en_US", "Deutsch", "zz", "x-klingon", "en-GB-oxendict", "en-1901"]


def document(intake: Driver) -> dict[str, Any]:
    return intake.http.get("/openapi.json").get_json()  # type: ignore[no-any-return]


def body_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path][method]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def shapes_of(spec: dict[str, Any], path: str, name: str) -> list[dict[str, Any]]:
    """The shapes a body takes one of, each stated beside a reference to the whole schema."""
    one_of: list[dict[str, Any]] = body_schema(spec, path, "post")["oneOf"]
    assert all(s.pop("$ref") == f"#/components/schemas/{name}" for s in one_of)
    return one_of


def component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]  # type: ignore[no-any-return]


def accepts(tag: str) -> bool:
    try:
        language_tag().deserialize(tag)
    except ValidationError:
        return False
    return True


def test_the_document_states_the_language_tag_pattern_on_every_language_field(
    intake: Driver,
) -> None:
    spec = document(intake)

    fields = [
        component(spec, "Referral")["properties"]["preferred_language"],
        component(spec, "Correction")["properties"]["preferred_language"],
        component(spec, "Preferences")["properties"]["language"],
        component(spec, "TherapistProfile")["properties"]["languages"]["items"],
    ]
    assert [f["pattern"] for f in fields] == [LANGUAGE_TAG_PATTERN] * len(fields)


@pytest.mark.parametrize("tag", ACCEPTED_TAGS + REFUSED_TAGS)
def test_a_language_tag_is_accepted_exactly_when_it_matches_the_documented_pattern(
    tag: str,
) -> None:
    assert (
        accepts(tag) == (re.search(LANGUAGE_TAG_PATTERN, tag) is not None) == (tag in ACCEPTED_TAGS)
    )


def test_a_language_tag_ending_in_a_newline_is_refused_as_ecma_262_reads_the_pattern() -> None:
    assert not accepts("en\n")


def test_every_language_script_and_region_the_pattern_allows_is_registered() -> None:
    pattern = re.compile(LANGUAGE_TAG_PATTERN)
    letters = "abcdefghijklmnopqrstuvwxyz"
    languages = [a + b for a in letters for b in letters] + [
        a + b + c for a in letters for b in letters for c in letters
    ]
    allowed = [tag for tag in languages if pattern.search(tag)]

    assert len(allowed) > 8000
    assert all(langcodes.tag_is_valid(tag) for tag in allowed)
    assert all(langcodes.tag_is_valid(f"{tag}-Latn-US") for tag in allowed)


def test_the_document_states_each_instruments_item_count_and_scores(intake: Driver) -> None:
    shapes = shapes_of(document(intake), "/v1/clients/{client_id}/screenings", "Screening")

    stated = {
        s["properties"]["instrument"]["const"]: (
            s["properties"]["items"]["minItems"],
            s["properties"]["items"]["maxItems"],
            s["properties"]["items"]["items"],
        )
        for s in shapes
    }
    assert stated == {
        name: (i.item_count, i.item_count, {"minimum": 0, "maximum": 3})
        for name, i in INSTRUMENTS.items()
    }


@pytest.mark.parametrize(
    ("path", "component_name"),
    [
        ("/v1/clients/{client_id}", "Correction"),
        ("/v1/therapists/{therapist_id}", "TherapistUpdate"),
    ],
)
def test_a_change_names_recorded_by_and_at_least_one_field_as_the_document_states(
    intake: Driver, path: str, component_name: str
) -> None:
    spec = document(intake)
    schema = body_schema(spec, path, "patch")

    assert schema["minProperties"] == 2
    assert component(spec, component_name)["required"] == ["recorded_by"]
    assert component(spec, component_name)["additionalProperties"] is False


def test_completion_waiting_on_requirements_is_a_documented_409(intake: Driver) -> None:
    responses = document(intake)["paths"]["/v1/clients/{client_id}/completion"]["post"]
    client_id = intake.refer()

    response = intake.call(
        "POST", f"/v1/clients/{client_id}/completion", {"recorded_by": CLINICIAN}
    )

    assert "409" in responses["responses"]
    assert response.status_code == 409
    assert response.get_json()["missing"]


def test_a_whole_number_written_with_a_fraction_of_zero_is_that_integer(intake: Driver) -> None:
    therapist_id = intake.register(capacity=7.0)
    client_id = intake.refer()

    half = intake.call("POST", "/v1/therapists", {"capacity": 7.5})
    screening = intake.screen(client_id, "GAD-7", [1.0, 0, 0, 0, 0, 0, 2.0])  # type: ignore[list-item]

    assert intake.get(f"/v1/therapists/{therapist_id}").get_json()["capacity"] == 7
    assert "capacity" in half.get_json()["errors"]
    assert screening["items"] == [1, 0, 0, 0, 0, 0, 2]


def test_a_malformed_if_match_on_a_create_is_a_400(intake: Driver) -> None:
    therapist = intake.call("POST", "/v1/therapists", THERAPIST, **{"If-Match": ""})
    referral = intake.call("POST", "/v1/clients", REFERRAL, **{"If-Match": "three"})

    assert (therapist.status_code, referral.status_code) == (400, 400)
    assert therapist.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("kind", "changes", "stated", "status"),
    [
        ("confidentiality", {"limits_acknowledged": False}, False, 422),
        ("confidentiality", {"limits_acknowledged": True}, True, 200),
        ("data_sharing", {"scopes": []}, False, 422),
        ("data_sharing", {"scopes": ["research"]}, True, 200),
        ("treatment", {"scopes": ["research"]}, False, 422),
        ("treatment", {}, True, 200),
    ],
)
def test_the_document_states_what_each_kind_of_consent_needs(
    intake: Driver, kind: str, changes: dict[str, Any], stated: bool, status: int
) -> None:
    shapes = shapes_of(document(intake), "/v1/clients/{client_id}/consents", "ConsentGrant")
    [shape] = [s for s in shapes if s["properties"]["kind"]["const"] == kind]
    body = {"kind": kind, "document_version": "v1", "signed_by": "A. Client", **changes}

    response = intake.call(
        "POST",
        f"/v1/clients/{intake.refer()}/consents",
        {**body, "signed_at": "2026-01-05T10:00:00Z", "recorded_by": CLINICIAN},
    )

    assert satisfies(body, shape) == stated
    assert response.status_code == status


def satisfies(body: dict[str, Any], shape: dict[str, Any]) -> bool:
    """Whether a body meets a consent kind's shape (the keywords the shapes use)."""
    present = all(name in body for name in shape.get("required", []))
    for name, rule in shape["properties"].items():
        value = body.get(name)
        if value is None:
            continue
        if "const" in rule and value != rule["const"]:
            return False
        if isinstance(value, list) and not (
            rule.get("minItems", 0) <= len(value) <= rule.get("maxItems", len(value))
        ):
            return False
    return present


def test_a_request_the_rules_refuse_is_that_refusal_even_with_a_stale_if_match(
    intake: Driver,
) -> None:
    client_id = intake.refer()
    therapist_id = intake.register()
    consent = {"kind": "treatment", "document_version": "v1", "signed_by": "A. Client"}
    body = {**consent, "scopes": ["research"], "signed_at": "2026-01-05T10:00:00Z"}
    stale = {"If-Match": '"7"'}

    refused = intake.call(
        "POST", f"/v1/clients/{client_id}/consents", {**body, "recorded_by": CLINICIAN}, **stale
    )
    fine = intake.call(
        "PATCH",
        f"/v1/therapists/{therapist_id}",
        {"capacity": 3, "recorded_by": CLINICIAN},
        **stale,
    )

    assert (refused.status_code, list(refused.get_json()["errors"])) == (422, ["scopes"])
    assert fine.status_code == 412  # a request the rules accept still meets its precondition
    assert len(intake.stored_events(client_id)) == 1
