"""Hostile input against the running suite: extreme times and dates, and JSON nested deep enough
to exhaust a recursive parser, are refused as problem+json naming what was wrong — never a 500,
and nothing of them is stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from .conftest import refer, url

PROBLEM_JSON = "application/problem+json"
EXTREME_TIMES = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")
SESSION = {
    "attended": True,
    "measures": [{"instrument": "PHQ-9", "items": [1, 1, 1, 1, 1, 1, 1, 1, 0]}],
}


def refused(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    return dict(response.json())


@pytest.mark.parametrize("moment", EXTREME_TIMES)
def test_reading_a_client_at_a_time_outside_the_calendar_is_a_422_naming_as_of(
    suite: Any, clinic_a: dict[str, str], moment: str
) -> None:
    client_id = refer(suite, clinic_a)
    intake = url(suite, "intake", f"/v1/clients/{client_id}")
    problem = refused(requests.get(intake, params={"as_of": moment}, headers=clinic_a), 422)
    assert "as_of" in problem["errors"]


@pytest.mark.parametrize("moment", EXTREME_TIMES)
def test_reading_a_session_at_a_time_outside_the_calendar_is_a_422_naming_as_of(
    suite: Any, clinic_a: dict[str, str], moment: str
) -> None:
    client_id = refer(suite, clinic_a)
    sessions = url(suite, "progress", f"/v1/clients/{client_id}/sessions")
    recorded = requests.post(sessions, json={**SESSION, "date": "2025-03-20"}, headers=clinic_a)
    assert recorded.status_code == 201, recorded.text
    session = f"{sessions}/{recorded.json()['session_id']}"
    problem = refused(requests.get(session, params={"as_of": moment}, headers=clinic_a), 422)
    assert "as_of" in problem["errors"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_session_dated_outside_the_years_1900_to_2100_is_a_422_and_not_stored(
    suite: Any, clinic_a: dict[str, str], day: str
) -> None:
    client_id = refer(suite, clinic_a)
    base = f"/v1/clients/{client_id}"
    sent = requests.post(
        url(suite, "progress", f"{base}/sessions"), json={**SESSION, "date": day}, headers=clinic_a
    )
    assert "date" in refused(sent, 422)["errors"]
    picture = requests.get(url(suite, "progress", f"{base}/timeline.svg"), headers=clinic_a)
    assert picture.status_code == 200 and day not in picture.text


@pytest.mark.parametrize("service", ["intake", "goals", "progress"])
def test_a_body_of_sixty_thousand_brackets_is_a_400_problem(
    suite: Any, clinic_a: dict[str, str], service: str
) -> None:
    path = {
        "intake": "/v1/clients",
        "goals": f"/v1/clients/{uuid.uuid4()}/goals",
        "progress": f"/v1/clients/{uuid.uuid4()}/sessions",
    }[service]
    headers = {**clinic_a, "Content-Type": "application/json"}
    sent = requests.post(url(suite, service, path), data="[" * 60_000, headers=headers)
    assert "nested deeper" in refused(sent, 400)["detail"]


def test_a_deeply_nested_value_inside_an_otherwise_valid_referral_is_a_400_and_not_stored(
    suite: Any, clinic_a: dict[str, str]
) -> None:
    external_id = f"EHR-{uuid.uuid4()}"
    nested = "[" * 5_000 + "]" * 5_000
    body = (
        '{"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30", '
        f'"external_id": "{external_id}", "presenting_concerns": {nested}}}'
    )
    headers = {**clinic_a, "Content-Type": "application/json"}
    refused(requests.post(url(suite, "intake", "/v1/clients"), data=body, headers=headers), 400)
    found = requests.get(
        url(suite, "intake", "/v1/clients"), params={"external_id": external_id}, headers=clinic_a
    )
    assert found.status_code == 200 and found.json()["items"] == []
