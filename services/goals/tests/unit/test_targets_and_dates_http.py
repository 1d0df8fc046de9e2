"""Goal targets by instrument and the days goals were agreed and steps completed, over HTTP; a
target met by a session progress recorded shows on the goal and in its FHIR export."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from waypoint_devkit.apps import deliver
from waypoint_devkit.apps import envelope as devkit_envelope
from waypoint_goals.service_layer import projector

from .conftest import CLIENT, GoalsApi


def days_from_today(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def errors_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.get_json()
    return dict(response.get_json()["errors"])


@pytest.mark.parametrize(
    ("target", "direction"),
    [
        ({"instrument": "PHQ-9", "score": 9}, "at_or_below"),
        ({"instrument": "GAD-7", "score": 7}, "at_or_below"),
        ({"instrument": "ORS", "score": 25}, "at_or_above"),
        ({"instrument": "SRS", "score": 36, "direction": "at_or_above"}, "at_or_above"),
    ],
)
def test_a_targets_direction_follows_from_its_instrument(
    api: GoalsApi, client_id: str, target: dict[str, Any], direction: str
) -> None:
    created = api.propose(client_id, target=target)

    assert created.status_code == 201
    assert created.get_json()["target"] == {**target, "direction": direction}


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ({"instrument": "PHQ-9", "score": 35}, "PHQ-9 target 35"),
        ({"instrument": "GAD-7", "score": 22}, "GAD-7 target 22"),
        ({"instrument": "ORS", "score": 40.5}, "ORS target 40.5"),
        ({"instrument": "SRS", "score": -1}, "SRS target -1"),
    ],
)
def test_a_target_score_outside_the_instruments_range_is_422_naming_target_score(
    api: GoalsApi, client_id: str, target: dict[str, Any], named: str
) -> None:
    errors = errors_of(api.propose(client_id, target=target))

    assert named in errors["target"]["score"][0]


def test_a_target_against_its_instruments_direction_is_422_naming_target_direction(
    api: GoalsApi, client_id: str
) -> None:
    target = {"instrument": "ORS", "score": 25, "direction": "at_or_below"}

    errors = errors_of(api.propose(client_id, target=target))

    assert "at_or_above" in errors["target"]["direction"][0]


def test_a_revised_target_follows_the_same_rules(api: GoalsApi, goal: str) -> None:
    out_of_range = {
        "reason": "aim higher",
        "changes": {"target": {"instrument": "PHQ-9", "score": 28}},
    }
    ors = {"reason": "track wellbeing", "changes": {"target": {"instrument": "ORS", "score": 30}}}

    refused = errors_of(api.patch(goal, out_of_range))
    revised = api.patch(goal, ors)

    assert "PHQ-9 target 28" in refused["changes"]["target"]["score"][0]
    assert revised.status_code == 200
    expected = {"instrument": "ORS", "score": 30.0, "direction": "at_or_above"}
    assert revised.get_json()["target"] == expected
    assert api.get(goal).get_json()["target"] == expected


def test_an_agreement_is_dated_today_in_utc_unless_the_day_is_given(
    api: GoalsApi, goal: str, client_id: str
) -> None:
    other = str(api.propose(client_id).headers["Location"])

    today = api.post(f"{goal}/agreement", {"agreed_by": CLIENT}).get_json()
    earlier = api.post(f"{other}/agreement", {"agreed_by": CLIENT, "agreed_on": "2025-11-05"})

    assert today["agreed_on"] == datetime.now(UTC).date().isoformat()
    assert earlier.get_json()["agreed_on"] == "2025-11-05"


@pytest.mark.parametrize("days_ahead", [2, 30])
def test_an_agreement_dated_more_than_a_day_ahead_is_422_naming_agreed_on(
    api: GoalsApi, goal: str, days_ahead: int
) -> None:
    body = {"agreed_by": CLIENT, "agreed_on": days_from_today(days_ahead)}

    errors = errors_of(api.post(f"{goal}/agreement", body))

    assert list(errors) == ["agreed_on"]
    assert api.get(goal).get_json()["lifecycle_status"] == "proposed"


def test_an_agreement_dated_tomorrow_is_accepted(api: GoalsApi, goal: str) -> None:
    body = {"agreed_by": CLIENT, "agreed_on": days_from_today(1)}

    assert api.post(f"{goal}/agreement", body).status_code == 200


def test_a_step_completion_is_dated_and_never_more_than_a_day_ahead(
    api: GoalsApi, active_goal: str
) -> None:
    planned = api.post(f"{active_goal}/steps", {"description": "Wind down at ten"})
    completion = f"{planned.headers['Location']}/completion"

    errors = errors_of(api.post(completion, {"completed_on": days_from_today(2)}))
    completed = api.post(completion, {"completed_on": "2025-11-12"})

    assert list(errors) == ["completed_on"]
    assert completed.get_json()["steps"][0]["completed_on"] == "2025-11-12"


def session(client_id: str, day: str, *, attended: bool = True, **totals: float) -> Any:
    """A session of progress with totals by instrument (PHQ9=…, GAD7=…, ORS=…, SRS=…)."""
    totals = {
        name.replace("PHQ9", "PHQ-9").replace("GAD7", "GAD-7"): t for name, t in totals.items()
    }
    measures: list[dict[str, Any]] = [
        {"instrument": name, "items": [], "total": total, "band": None}
        for name, total in totals.items()
    ]
    return devkit_envelope(
        "progress",
        "session_recorded",
        client_id,
        session_id=str(uuid.uuid4()),
        date=day,
        attended=attended,
        measures=measures,
        reflection=None,
    )


def progress_records(app: Flask, *sessions: Any) -> None:
    deliver(app, projector.handler(app.extensions["waypoint"].goals), *sessions)


def test_a_session_score_meeting_an_agreed_goals_target_shows_on_the_goal(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    goal = str(
        api.propose(client_id, target={"instrument": "ORS", "score": 25}).headers["Location"]
    )
    api.post(f"{goal}/agreement", {"agreed_by": CLIENT, "agreed_on": "2025-11-01"})
    not_yet, met, again = (
        session(client_id, "2025-11-05", ORS=24.9, PHQ9=8),
        session(client_id, "2025-11-12", ORS=25.0),
        session(client_id, "2025-11-19", ORS=31.0),
    )

    progress_records(app, not_yet)
    before = api.get(goal).get_json()
    progress_records(app, met, met, again)  # redelivered, then met again
    after = api.get(goal).get_json()

    assert before["target_met_at"] is None
    assert after["target_met_at"] == "2025-11-12"
    assert after["target_met_score"] == 25.0
    assert after["target_met_session_id"] == met.data["session_id"]
    history = api.get(f"{goal}/history").get_json()["items"]
    assert [item["type"] for item in history].count("goal_target_met") == 1


def test_a_missed_session_or_a_goal_not_agreed_meets_no_target(
    app: Flask, api: GoalsApi, client_id: str, goal: str
) -> None:
    agreed = str(api.propose(client_id).headers["Location"])
    api.post(f"{agreed}/agreement", {"agreed_by": CLIENT, "agreed_on": "2025-11-01"})

    progress_records(app, session(client_id, "2025-11-05", attended=False, PHQ9=4))
    progress_records(app, session(client_id, "2025-11-12", GAD7=4))

    assert api.get(agreed).get_json()["target_met_at"] is None
    progress_records(app, session(client_id, "2025-11-19", PHQ9=9))
    assert api.get(agreed).get_json()["target_met_at"] == "2025-11-19"
    assert api.get(goal).get_json()["target_met_at"] is None  # proposed only


def test_a_met_target_is_the_fhir_goals_outcome_the_observation_that_met_it(
    app: Flask, api: GoalsApi, client_id: str, active_goal: str
) -> None:
    met = session(client_id, datetime.now(UTC).date().isoformat(), PHQ9=6)

    progress_records(app, met)
    body = api.get(active_goal.replace("/v1/goals/", "/fhir/Goal/")).get_json()

    assert body["outcomeReference"] == [
        {
            # progress's FHIR base serves the Observation
            "reference": f"http://127.0.0.1:8003/fhir/Observation/{met.data['session_id']}-phq-9",
            "display": f"PHQ-9 6 on {met.data['date']} met the target",
        }
    ]
    assert "achievementStatus" not in body
