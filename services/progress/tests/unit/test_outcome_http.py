"""The course outcome and the end-of-treatment summary over HTTP, and the outcome progress
publishes at discharge, fed by the projector as the consumer would feed it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from waypoint_devkit.apps import bearer, deliver
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_course_outcome import ACCEPTANCE_OUTCOME
from .test_milestone_and_alert_rules import gad7, phq9


def project(app: Flask, envelopes: Iterable[Envelope]) -> None:
    deliver(app, app.extensions["waypoint"].projector.handle, *envelopes)


def treated(j: JourneyEvents) -> list[Envelope]:
    """Referred, then PHQ-9 16 / GAD-7 13 → 12 / 9 → 8 / 6 over three weekly sessions."""
    referral = j.referral()
    sessions = [
        j.later(days=7).session(PHQ9=phq9(p), GAD7=gad7(g)) for p, g in ((16, 13), (12, 9), (8, 6))
    ]
    return [referral, *sessions]


def published_outcomes(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    query = "SELECT event_id, data FROM events WHERE type = :type ORDER BY position"
    kind = {"type": "waypoint.progress.course_outcome_recorded.v1"}
    with app.extensions["waypoint"].engine.connect() as conn:
        rows = conn.execute(text(query), kind).all()
    return [(r.event_id, r.data if isinstance(r.data, dict) else json.loads(r.data)) for r in rows]


def test_after_discharge_the_outcome_is_final_and_a_reliable_recovery(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    j = journey()
    project(app, [*treated(j), j.discharge()])

    response = client.get(f"/v1/clients/{j.client_id}/outcome", headers=bearer())

    assert response.status_code == 200
    assert response.get_json() == ACCEPTANCE_OUTCOME


def test_before_discharge_the_outcome_is_so_far_and_the_course_not_finished(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    j = journey()
    project(app, treated(j))

    body = client.get(f"/v1/clients/{j.client_id}/outcome", headers=bearer()).get_json()

    assert (body["status"], body["finished_course"], body["recovery"]) == ("so_far", False, True)


@pytest.mark.parametrize("part", ["outcome", "summary"])
def test_an_unknown_or_another_tenants_client_is_a_404_problem(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], part: str
) -> None:
    j = journey()
    project(app, treated(j))

    unknown = client.get(f"/v1/clients/{uuid.uuid4()}/{part}", headers=bearer())
    theirs = client.get(f"/v1/clients/{j.client_id}/{part}", headers=bearer("clinic-b"))

    assert [unknown.status_code, theirs.status_code] == [404, 404]
    assert unknown.mimetype == theirs.mimetype == "application/problem+json"


def test_the_summary_holds_the_outcome_milestones_goals_achieved_and_measures_first_to_last(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    j = journey()
    goal, course = str(uuid.uuid4()), treated(j)
    achieved = j.goal("goal_achieved", goal, note="I sleep through the night")
    project(app, [*course, achieved, j.discharge()])

    body = client.get(f"/v1/clients/{j.client_id}/summary", headers=bearer()).get_json()

    assert body["outcome"] == ACCEPTANCE_OUTCOME
    assert [m["type"] for m in body["milestones"]] == [
        "journey_started",
        "reliable_improvement_so_far",
        "goal_achieved",  # recorded the day before the last session's date (no clinical date)
        "below_caseness",
        "reliable_recovery",
    ]
    assert body["goals_achieved"] == [{"goal_id": goal, "achieved_at": achieved.time.isoformat()}]
    assert "I sleep" not in json.dumps(body)
    assert body["measures"] == [
        {
            "instrument": "PHQ-9",
            "first": {"score": 16, "date": "2025-03-12"},
            "last": {"score": 8, "date": "2025-03-26"},
        },
        {
            "instrument": "GAD-7",
            "first": {"score": 13, "date": "2025-03-12"},
            "last": {"score": 6, "date": "2025-03-26"},
        },
    ]


def test_the_outcome_and_summary_are_declared_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for part, schema in (("outcome", "Outcome"), ("summary", "Summary")):
        get = spec["paths"][f"/v1/clients/{{client_id}}/{part}"]["get"]
        answer = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{schema}"}
        assert "404" in get["responses"]
    assert "reliable_recovery" in spec["components"]["schemas"]["Outcome"]["properties"]


def test_the_discharge_publishes_the_final_course_outcome_once(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    j = journey()
    discharge = j.discharge()
    project(app, [*treated(j), discharge])
    project(app, [discharge])

    [(_, data)] = published_outcomes(app)

    assert data == {"client_id": j.client_id, **ACCEPTANCE_OUTCOME}


def test_a_late_session_that_changes_the_outcome_publishes_it_again(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    j = journey()
    project(app, [*treated(j), j.discharge()])
    late = j.session(date="2025-03-27", PHQ9=phq9(22), GAD7=gad7(18))
    project(app, [late])
    project(app, [late])

    first, second = (data for _, data in published_outcomes(app))

    assert (first["reliable_recovery"], second["reliable_recovery"]) == (True, False)
    assert second["last"] == {"PHQ-9": 22, "GAD-7": 18, "date": "2025-03-27"}


def test_no_outcome_is_published_before_discharge(app: Flask, journey: type[JourneyEvents]) -> None:
    project(app, treated(journey()))

    assert published_outcomes(app) == []
