"""Over HTTP: a referral, a screening and a discharge each carry their clinical date (default
today, UTC), the bounds answer 422 naming the field (409 when the bound is the record's referral
day), discharge takes a structured ending reason, and the client resource, the stored v2 events
and the FHIR EpisodeOfCare show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.episodeofcare import EpisodeOfCare

from .conftest import CLINICIAN, Driver

TODAY = datetime.now(UTC).date()
DAY = timedelta(days=1)
SIX_WEEKS_AGO = TODAY - timedelta(weeks=6)
ENDING = {"ending_reason": "completed_treatment", "recorded_by": CLINICIAN}


def iso(day: date) -> str:
    return day.isoformat()


def refused_field(response: Any, status: int = 422) -> list[str]:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return list(response.get_json()["errors"])


def test_an_undated_referral_is_dated_today_with_the_age_group_derived_from_the_birth_date(
    intake: Driver,
) -> None:
    client_id = intake.refer(date_of_birth=iso(TODAY.replace(year=TODAY.year - 30) - DAY))

    client = intake.get(f"/v1/clients/{client_id}").get_json()

    assert (client["referred_on"], client["age_group"]) == (iso(TODAY), "adult")


def test_a_referral_dated_six_weeks_ago_is_kept_and_published_as_v2(intake: Driver) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO), date_of_birth="2012-01-15")

    [referred] = intake.stored_events(client_id)

    assert referred["type"] == "waypoint.intake.client_referred.v2"
    assert referred["data"]["referred_on"] == iso(SIX_WEEKS_AGO)
    assert referred["data"]["age_group"] in ("child", "adolescent")


@pytest.mark.parametrize(
    ("referred_on", "date_of_birth"),
    [
        (TODAY + DAY, "1992-06-30"),  # tomorrow is in the future
        (date(1992, 6, 29), "1992-06-30"),  # the day before the client was born
    ],
)
def test_a_referral_in_the_future_or_before_the_birth_date_is_a_422_naming_referred_on(
    intake: Driver, referred_on: date, date_of_birth: str
) -> None:
    body = {
        "given_name": "Amara",
        "family_name": "Osei",
        "date_of_birth": date_of_birth,
        "referred_on": iso(referred_on),
    }

    assert refused_field(intake.call("POST", "/v1/clients", body)) == ["referred_on"]


def screening(administered_on: date | None) -> dict[str, Any]:
    dated = {} if administered_on is None else {"administered_on": iso(administered_on)}
    return {"instrument": "GAD-7", "items": [1] * 7, "recorded_by": CLINICIAN, **dated}


@pytest.mark.parametrize(
    ("administered_on", "status"),
    [
        (SIX_WEEKS_AGO, 200),  # the referral day
        (SIX_WEEKS_AGO - DAY, 409),  # the day before the referral: the record's state
        (TODAY + DAY, 200),  # one day ahead of UTC
        (TODAY + 2 * DAY, 422),  # two days ahead
    ],
)
def test_a_screening_is_dated_from_the_referral_to_one_day_after_today(
    intake: Driver, administered_on: date, status: int
) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO))

    response = intake.call(
        "POST", f"/v1/clients/{client_id}/screenings", screening(administered_on)
    )

    if status != 200:
        assert refused_field(response, status) == ["administered_on"]
        return
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["administered_on"] == iso(administered_on)


def test_an_undated_screening_is_dated_today_and_published_as_v2(intake: Driver) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO))
    intake.step(client_id, "POST", "/screenings", screening(None))

    client = intake.get(f"/v1/clients/{client_id}").get_json()
    recorded = intake.stored_events(client_id)[-1]

    assert client["screenings"][0]["administered_on"] == iso(TODAY)
    assert recorded["type"] == "waypoint.intake.screening_recorded.v2"
    assert recorded["data"]["administered_on"] == iso(TODAY)


@pytest.mark.parametrize(
    ("discharged_on", "status"),
    [
        (SIX_WEEKS_AGO, 200),
        (SIX_WEEKS_AGO - DAY, 409),
        (TODAY + DAY, 200),
        (TODAY + 2 * DAY, 422),
    ],
)
def test_a_discharge_is_dated_from_the_referral_to_one_day_after_today(
    intake: Driver, discharged_on: date, status: int
) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO))

    response = intake.call(
        "POST",
        f"/v1/clients/{client_id}/discharge",
        {**ENDING, "discharged_on": iso(discharged_on)},
    )

    if status != 200:
        assert refused_field(response, status) == ["discharged_on"]
        return
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["discharged_on"] == iso(discharged_on)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recorded_by": CLINICIAN}, "ending_reason"),  # required
        ({"ending_reason": "goals met", "recorded_by": CLINICIAN}, "ending_reason"),  # not one
        ({**ENDING, "reason": ""}, "reason"),
    ],
)
def test_a_discharge_needs_one_of_the_ending_reasons(
    intake: Driver, body: dict[str, Any], field: str
) -> None:
    client_id = intake.refer()

    response = intake.call("POST", f"/v1/clients/{client_id}/discharge", body)

    assert refused_field(response) == [field]


def test_a_discharge_with_only_an_ending_reason_is_dated_today_and_shown_on_the_client(
    intake: Driver,
) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO))

    client = intake.step(client_id, "POST", "/discharge", ENDING)
    discharged = intake.stored_events(client_id)[-1]

    assert client["status"] == "discharged"
    assert (client["ending_reason"], client["discharged_on"]) == ("completed_treatment", iso(TODAY))
    assert client["discharge_reason"] is None
    assert discharged["type"] == "waypoint.intake.client_discharged.v2"
    assert discharged["data"]["ending_reason"] == "completed_treatment"
    assert discharged["data"]["discharged_on"] == iso(TODAY)
    assert discharged["data"]["reason"] is None


def test_the_openapi_document_lists_the_ending_reasons_as_an_enum(intake: Driver) -> None:
    spec = intake.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/clients/{client_id}/discharge"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    body = spec["components"]["schemas"][name]

    assert body["required"] == ["ending_reason", "recorded_by"]
    assert "completed_treatment" in body["properties"]["ending_reason"]["enum"]
    assert len(body["properties"]["ending_reason"]["enum"]) == 10


def test_the_episode_of_care_runs_from_the_referral_to_the_discharge(intake: Driver) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO), date_of_birth="1992-06-30")
    intake.step(client_id, "POST", "/discharge", {**ENDING, "discharged_on": iso(TODAY)})

    body = intake.get("/fhir/EpisodeOfCare", patient=client_id).get_json()
    [episode] = [e["resource"] for e in body["entry"]]
    EpisodeOfCare.model_validate(episode)
    extensions = {
        e["url"].rsplit("/", 1)[-1]: e["valueCoding"]["code"] for e in episode["extension"]
    }

    assert episode["status"] == "finished"
    assert episode["patient"] == {"reference": f"http://127.0.0.1:8001/fhir/Patient/{client_id}"}
    assert episode["period"] == {"start": iso(SIX_WEEKS_AGO), "end": iso(TODAY)}
    assert extensions == {"age-group": "adult", "ending-reason": "completed_treatment"}


def test_a_screenings_observations_are_effective_on_the_day_it_was_administered(
    intake: Driver,
) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO))
    intake.step(client_id, "POST", "/screenings", screening(SIX_WEEKS_AGO + DAY))

    body = intake.get("/fhir/Observation", patient=client_id).get_json()

    assert {e["resource"]["effectiveDateTime"] for e in body["entry"]} == {iso(SIX_WEEKS_AGO + DAY)}


def test_a_corrected_birth_date_after_the_referral_is_a_409_naming_date_of_birth(
    intake: Driver,
) -> None:
    client_id = intake.refer(referred_on=iso(SIX_WEEKS_AGO), date_of_birth="1992-06-30")
    correction = {"date_of_birth": iso(SIX_WEEKS_AGO + DAY), "recorded_by": CLINICIAN}

    response = intake.call("PATCH", f"/v1/clients/{client_id}", correction)

    assert refused_field(response, 409) == ["date_of_birth"]
    assert len(intake.stored_events(client_id)) == 1
