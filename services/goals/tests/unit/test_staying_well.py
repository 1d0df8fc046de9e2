"""Staying well after therapy: the plan client and therapist agree before discharge, and the
follow-up check-ins on achieved goals after discharge that show the goal sustained."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_goals.domain.staying_well import plan_stream

from .conftest import CLIENT, THERAPIST, GoalsApi, Intake

PLAN = {
    "warning_signs": ["Sleeping past noon", "Skipping meals"],
    "what_helps": ["A walk before breakfast", "Calling my sister"],
    "who_to_contact": [
        {"name": "Nia", "relationship": "sister", "phone": "+44 7700 900123"},
        {"name": "GP surgery"},
    ],
    "agreed_by": [CLIENT, THERAPIST],
}
KEY_HEADER = "Idempotency-Key"


def plan_path(client_id: str) -> str:
    return f"/v1/clients/{client_id}/staying-well-plan"


def put_plan(
    api: GoalsApi,
    client_id: str,
    body: dict[str, Any] = PLAN,
    if_match: int | None = None,
    key: str | None = None,
) -> TestResponse:
    headers = api.headers(if_match)
    if key is not None:
        headers[KEY_HEADER] = key
    return api.http.put(plan_path(client_id), json=body, headers=headers)


def discharged(intake: Intake, client_id: str) -> None:
    intake.tells("client_discharged", client_id, reason="sealed")


def achieved(api: GoalsApi, goal: str, rating: int) -> None:
    assert check_in(api, goal, rating).status_code == 200
    assert api.post(f"{goal}/achievement", {}).status_code == 200


def test_a_plan_put_for_a_referred_client_reads_back_as_agreed(
    api: GoalsApi, client_id: str
) -> None:
    created = put_plan(api, client_id)
    read = api.get(plan_path(client_id))

    assert created.status_code == 201
    assert created.headers["ETag"] == read.headers["ETag"] == '"1"'
    assert read.status_code == 200
    plan = read.get_json()
    assert plan["client_id"] == client_id
    assert plan["version"] == 1
    assert plan["warning_signs"] == PLAN["warning_signs"]
    assert plan["what_helps"] == PLAN["what_helps"]
    assert plan["who_to_contact"] == [
        {"name": "Nia", "relationship": "sister", "phone": "+44 7700 900123"},
        {"name": "GP surgery", "relationship": None, "phone": None},
    ]
    assert plan["agreed_by"] == [CLIENT, THERAPIST]


def test_a_later_put_revises_the_plan_as_a_new_version_of_the_same_event_type(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    put_plan(api, client_id)
    revision = {**PLAN, "what_helps": ["Swimming on Saturdays"]}

    revised = put_plan(api, client_id, revision, if_match=1)
    stale = put_plan(api, client_id, {**PLAN, "warning_signs": ["x"]}, if_match=1)

    assert revised.status_code == 200
    assert revised.get_json()["version"] == 2
    assert api.get(plan_path(client_id)).get_json()["what_helps"] == ["Swimming on Saturdays"]
    assert stale.status_code == 412
    assert stored_types(app, client_id) == ["waypoint.goals.staying_well_plan_agreed.v1"] * 2


def test_the_plan_already_on_record_put_again_records_nothing(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    put_plan(api, client_id)

    again = put_plan(api, client_id)

    assert again.get_json()["version"] == 1
    assert len(stored_types(app, client_id)) == 1


def test_a_put_retried_with_its_idempotency_key_answers_as_first_and_stores_once(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    key = str(uuid.uuid4())
    first = put_plan(api, client_id, key=key)
    put_plan(api, client_id, {**PLAN, "what_helps": ["Music"]})

    retried = put_plan(api, client_id, key=key)

    assert retried.status_code == first.status_code == 201
    assert retried.get_json() == first.get_json()
    assert len(stored_types(app, client_id)) == 2


def test_after_discharge_the_plan_cannot_be_changed_and_says_the_client_was_discharged(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    put_plan(api, client_id)
    discharged(intake, client_id)

    refused = put_plan(api, client_id, {**PLAN, "what_helps": ["Music"]})

    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["reason"] == "discharged"
    assert api.get(plan_path(client_id)).get_json()["what_helps"] == PLAN["what_helps"]


def test_a_plan_for_a_client_not_known_yet_is_a_409_to_retry_shortly(api: GoalsApi) -> None:
    refused = put_plan(api, str(uuid.uuid4()))

    assert refused.status_code == 409
    assert refused.headers["Retry-After"] == "1"


def test_another_tenant_gets_404_for_the_plan_and_cannot_write_it(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    put_plan(api, client_id)
    other = GoalsApi(app.test_client(), tenant="clinic-b")

    read = other.get(plan_path(client_id))
    written = put_plan(other, client_id)

    assert read.status_code == 404
    assert read.mimetype == "application/problem+json"
    assert written.status_code == 409  # clinic B has never been told of this client
    assert api.get(plan_path(client_id)).get_json()["version"] == 1


def test_a_client_without_a_plan_gets_404(api: GoalsApi, client_id: str) -> None:
    missing = api.get(plan_path(client_id))

    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_every_list_of_the_plan_is_sealed_in_the_store(
    app: Flask, api: GoalsApi, client_id: str
) -> None:
    put_plan(api, client_id)

    with app.extensions["waypoint"].engine.connect() as conn:
        stored = conn.execute(
            text("SELECT data FROM events WHERE stream_id = :s"), {"s": plan_stream(client_id)}
        ).scalar_one()
    assert "Calling my sister" not in stored and "7700" not in stored and "noon" not in stored
    for name in ("warning_signs", "what_helps", "who_to_contact"):
        assert json.loads(stored)[name].startswith("enc:v2:")


def test_the_plan_is_agreed_by_the_client_and_the_therapist_together(
    api: GoalsApi, client_id: str
) -> None:
    by_one = put_plan(api, client_id, {**PLAN, "agreed_by": [THERAPIST]})
    by_two_therapists = put_plan(api, client_id, {**PLAN, "agreed_by": [THERAPIST, THERAPIST]})
    without_warning_signs = put_plan(api, client_id, {**PLAN, "warning_signs": []})

    assert by_one.status_code == by_two_therapists.status_code == 422
    assert without_warning_signs.status_code == 422
    assert "agreed_by" in by_one.get_json()["errors"]


@pytest.fixture
def followed_up_goal(api: GoalsApi, intake: Intake, client_id: str, active_goal: str) -> str:
    """A goal achieved with a last rating of 8, whose client was then discharged."""
    achieved(api, active_goal, rating=8)
    discharged(intake, client_id)
    return active_goal


def check_in(api: GoalsApi, goal: str, rating: int, by: dict[str, str] = CLIENT) -> TestResponse:
    return api.post(f"{goal}/check-ins", {"rating": rating, "by": by})


def test_a_follow_up_check_in_after_discharge_on_an_achieved_goal_makes_it_sustaining(
    api: GoalsApi, followed_up_goal: str
) -> None:
    follow_up = check_in(api, followed_up_goal, 8)
    fhir = api.get(f"/fhir/Goal/{followed_up_goal.rsplit('/', 1)[1]}").get_json()

    assert follow_up.status_code == 200
    goal = follow_up.get_json()
    assert (goal["lifecycle_status"], goal["achievement_status"]) == ("completed", "sustaining")
    assert api.get(followed_up_goal).get_json()["achievement_status"] == "sustaining"
    assert fhir["achievementStatus"]["coding"][0]["code"] == "sustaining"


def test_a_follow_up_with_a_lower_rating_shows_the_achieved_goal_worsening(
    api: GoalsApi, followed_up_goal: str
) -> None:
    lower = check_in(api, followed_up_goal, 5)
    held_again = check_in(api, followed_up_goal, 7, by=THERAPIST)

    assert lower.get_json()["achievement_status"] == "worsening"
    assert held_again.get_json()["achievement_status"] == "sustaining"


def test_a_check_in_on_a_goal_not_achieved_stays_refused_after_discharge(
    api: GoalsApi, intake: Intake, client_id: str, active_goal: str
) -> None:
    discharged(intake, client_id)

    refused = check_in(api, active_goal, 6)

    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "discharged"


def test_an_achieved_goal_takes_no_follow_up_before_discharge(
    api: GoalsApi, active_goal: str
) -> None:
    achieved(api, active_goal, rating=8)

    refused = check_in(api, active_goal, 8)

    assert refused.status_code == 409
    assert refused.get_json()["current_status"] == "completed"


def test_a_revoked_treatment_consent_refuses_follow_ups_too(
    api: GoalsApi, intake: Intake, client_id: str, followed_up_goal: str
) -> None:
    intake.tells("consent_revoked", client_id, kind="treatment", reason="x", revoked_by="y")

    refused = check_in(api, followed_up_goal, 8)

    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "treatment_consent_revoked"


def test_every_other_write_on_an_achieved_goal_stays_refused_after_discharge(
    api: GoalsApi, followed_up_goal: str
) -> None:
    revision = api.patch(followed_up_goal, {"reason": "x", "changes": {"priority": "low"}})
    step = api.post(f"{followed_up_goal}/steps", {"description": "Keep walking"})

    assert revision.status_code == step.status_code == 409


def stored_types(app: Flask, client_id: str) -> list[str]:
    with app.extensions["waypoint"].engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type FROM events WHERE stream_id = :s ORDER BY stream_version"),
            {"s": plan_stream(client_id)},
        )
        return [row.type for row in rows]


def test_the_export_holds_the_staying_well_plan_and_its_events_opened(
    api: GoalsApi, client_id: str
) -> None:
    put_plan(api, client_id)
    put_plan(api, client_id, {**PLAN, "what_helps": ["Music"]})

    exported = api.get(f"/v1/clients/{client_id}/export").get_json()

    assert exported["staying_well_plan"]["what_helps"] == ["Music"]
    plan_events = [e for e in exported["events"] if e["type"] == "staying_well_plan_agreed"]
    assert [e["data"]["what_helps"] for e in plan_events] == [PLAN["what_helps"], ["Music"]]


def test_an_erased_clients_plan_is_gone(api: GoalsApi, intake: Intake, client_id: str) -> None:
    put_plan(api, client_id)
    intake.tells("client_erased", client_id, erased_by={"role": "administrator", "id": "a-1"})

    assert api.get(plan_path(client_id)).status_code == 410
