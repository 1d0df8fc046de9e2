"""The OpenAPI document states what goals accept: a body the document allows is one the service's
own validation accepts, and a body it refuses, the service refuses too (422)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema

from waypoint_devkit.documents import agree, cases
from waypoint_goals.entrypoints.check_ins.schemas import CheckInSchema
from waypoint_goals.entrypoints.goals.schemas import GoalChangesSchema, TargetSchema
from waypoint_goals.entrypoints.staying_well.schemas import StayingWellPlanSchema
from waypoint_goals.entrypoints.steps.schemas import StepChangesSchema

from .conftest import CLIENT, GoalsApi

THERAPIST = {"role": "therapist", "id": "t-1"}


TARGETS = [
    ("a PHQ-9 target", {"instrument": "PHQ-9", "score": 9}, True),
    ("its own direction", {"instrument": "PHQ-9", "score": 9, "direction": "at_or_below"}, True),
    ("the other direction", {"instrument": "PHQ-9", "score": 9, "direction": "at_or_above"}, False),
    (
        "an ORS target at or above",
        {"instrument": "ORS", "score": 30, "direction": "at_or_above"},
        True,
    ),
    (
        "an ORS target at or below",
        {"instrument": "ORS", "score": 0, "direction": "at_or_below"},
        False,
    ),
    ("a GAD-7 score above 21", {"instrument": "GAD-7", "score": 22}, False),
    ("an SRS score of 40", {"instrument": "SRS", "score": 40}, True),
    ("an SRS score below 0", {"instrument": "SRS", "score": -1}, False),
]


@pytest.mark.parametrize(("body", "valid"), cases(TARGETS))
def test_the_document_states_each_instruments_target(
    app: Flask, body: dict[str, Any], valid: bool
) -> None:
    assert agree(app.test_client(), "Target", TargetSchema(), body) is valid


@pytest.mark.parametrize(
    ("component", "schema"),
    [("GoalChanges", GoalChangesSchema()), ("StepChanges", StepChangesSchema())],
)
def test_the_document_states_that_a_revision_names_at_least_one_field(
    app: Flask, component: str, schema: Schema
) -> None:
    assert not agree(app.test_client(), component, schema, {})
    assert agree(app.test_client(), component, schema, {"description": "Walk daily"})


def plan(**changes: Any) -> dict[str, Any]:
    body = {
        "warning_signs": ["Sleeping badly"],
        "what_helps": ["A walk"],
        "who_to_contact": [],
        "agreed_by": [CLIENT, THERAPIST],
    }
    return {**body, **changes}


PLANS = [
    ("the client and the therapist", plan(), True),
    ("the therapist and the client", plan(agreed_by=[THERAPIST, CLIENT]), True),
    ("two therapists", plan(agreed_by=[THERAPIST, {**THERAPIST, "id": "t-2"}]), False),
    ("the client alone", plan(agreed_by=[CLIENT]), False),
    ("three parties", plan(agreed_by=[CLIENT, THERAPIST, THERAPIST]), False),
    ("no warning sign", plan(warning_signs=[]), False),
    ("nothing that helps", plan(what_helps=[]), False),
]


@pytest.mark.parametrize(("body", "valid"), cases(PLANS))
def test_the_document_states_what_a_staying_well_plan_needs(
    app: Flask, body: dict[str, Any], valid: bool
) -> None:
    assert agree(app.test_client(), "StayingWellPlan", StayingWellPlanSchema(), body) is valid


RATINGS = [("6", 6, True), ("6.0", 6.0, True), ("6.5", 6.5, False), ("11", 11, False)]


@pytest.mark.parametrize(("rating", "valid"), cases(RATINGS))
def test_the_document_states_a_rating_is_a_whole_number_from_0_to_10(
    app: Flask, rating: float, valid: bool
) -> None:
    body = {"rating": rating, "by": CLIENT}
    assert agree(app.test_client(), "CheckIn", CheckInSchema(), body) is valid


def test_a_rating_of_6_0_is_kept_as_the_whole_number_6(api: GoalsApi, active_goal: str) -> None:
    response = api.post(f"{active_goal}/check-ins", {"rating": 6.0, "by": CLIENT})

    assert response.status_code == 200, response.get_json()
    assert api.get(active_goal).get_json()["latest_rating"] == 6
