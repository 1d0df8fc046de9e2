"""Session check-ins over HTTP: scored by the service, alerts raised at once, acknowledged, and
the measures that follow once the projection has the session."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer, deliver
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.messaging.envelope import Envelope, decode, encode

from ..conftest import JourneyEvents

PHQ9_MILD = [1, 1, 1, 1, 1, 1, 1, 1, 0]
PHQ9_RISK = [1, 1, 1, 1, 1, 1, 1, 1, 1]
SESSION = {
    "date": "2025-03-20",
    "attended": True,
    "measures": [
        {"instrument": "PHQ-9", "items": PHQ9_MILD},
        {"instrument": "GAD-7", "items": [1, 1, 1, 1, 1, 1, 0]},
        {"instrument": "SRS", "items": [9.5, 9.5, 9.5, 9.5]},
    ],
    "reflection": "I walked to the park and it felt good",
}


def record(
    client: FlaskClient, client_id: str, body: Mapping[str, Any] = SESSION, **headers: str
) -> TestResponse:
    return client.post(
        f"/v1/clients/{client_id}/sessions", json=body, headers={**bearer(), **headers}
    )


def relay(app: Flask) -> None:
    """What the relay and the worker do: progress's own events back into its projection."""
    container = app.extensions["waypoint"]
    with container.engine.connect() as conn:
        recorded = container.store.read_after(conn, 0, 1000)
    for event in recorded:
        envelope = decode(encode(event, "progress")[1])
        run_in_transaction(container.engine, partial(container.projector.handle, event=envelope))


def project(app: Flask, envelopes: Iterable[Envelope]) -> None:
    deliver(app, app.extensions["waypoint"].projector.handle, *envelopes)


@pytest.fixture
def client_id(app: Flask, journey: type[JourneyEvents]) -> str:
    """A client whose referral progress has received: it takes sessions only for those."""
    events = journey()
    project(app, [events.referral()])
    return events.client_id


def test_a_session_is_scored_and_answers_201_with_location_and_version(
    client: FlaskClient, client_id: str
) -> None:

    response = record(client, client_id)

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/v1/clients/{client_id}/sessions/{body['session_id']}"
    assert response.headers["ETag"] == '"1"'
    assert [(m["instrument"], m["total"], m["band"]) for m in body["measures"]] == [
        ("PHQ-9", 8, "mild"),
        ("GAD-7", 6, "mild"),
        ("SRS", 38.0, "strong alliance"),
    ]
    assert body["alerts"] == []
    read = client.get(response.headers["Location"], headers=bearer())
    assert read.status_code == 200
    assert read.get_json()["measures"] == body["measures"]
    assert read.get_json()["reflection"] == SESSION["reflection"]


def test_the_reflection_is_sealed_and_no_item_text_is_stored(
    app: Flask, client: FlaskClient, client_id: str
) -> None:
    record(client, client_id)

    with app.extensions["waypoint"].engine.connect() as conn:
        query = "SELECT data FROM events WHERE type LIKE '%session_recorded%'"
        [raw] = conn.execute(text(query)).scalars()

    assert "park" not in raw
    assert json.loads(raw)["reflection"].startswith("enc:v2:")


def test_phq9_item_9_above_0_raises_a_risk_flag_at_once_in_the_response(
    app: Flask, client: FlaskClient, client_id: str
) -> None:
    body = {**SESSION, "measures": [{"instrument": "PHQ-9", "items": PHQ9_RISK}]}

    response = record(client, client_id, body)

    [alert] = response.get_json()["alerts"]
    assert alert["rule"] == "risk_flag"
    relay(app)
    timeline = client.get(f"/v1/clients/{client_id}/timeline?kind=alert", headers=bearer())
    assert [(a["id"], a["type"]) for a in timeline.get_json()["items"]] == [
        (alert["alert_id"], "risk_flag")
    ]
    with app.extensions["waypoint"].engine.connect() as conn:
        raised = conn.execute(
            text("SELECT count(*) FROM events WHERE type LIKE '%alert_raised%'")
        ).scalar_one()
    assert raised == 1


def test_srs_30_raises_an_alliance_concern_at_once(client: FlaskClient, client_id: str) -> None:
    body = {**SESSION, "measures": [{"instrument": "SRS", "items": [7.5, 7.5, 7.5, 7.5]}]}

    response = record(client, client_id, body)

    assert [a["rule"] for a in response.get_json()["alerts"]] == ["alliance_concern"]


@pytest.mark.parametrize(
    ("measure", "problem"),
    [
        ({"instrument": "PHQ-9", "items": [1] * 8}, "PHQ-9 has 9 items; got 8."),
        ({"instrument": "GAD-7", "items": [0, 0, 0, 4, 0, 0, 0]}, "Item 4"),
        ({"instrument": "GAD-7", "items": [0, 0, 0, 1.5, 0, 0, 0]}, "Item 4"),
        ({"instrument": "ORS", "items": [5.0, 5.0, 10.5, 5.0]}, "Item 3"),
        ({"instrument": "SRS", "items": [5.25, 5.0, 5.0, 5.0]}, "Item 1"),
    ],
)
def test_items_that_do_not_fit_the_instrument_are_a_422_naming_the_field(
    client: FlaskClient, measure: dict[str, Any], problem: str
) -> None:
    response = record(client, str(uuid.uuid4()), {**SESSION, "measures": [measure]})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    [message] = response.get_json()["errors"]["measures"]["0"]["items"]
    assert message.startswith(problem)


def test_an_unknown_instrument_or_field_is_a_422(client: FlaskClient) -> None:
    unknown_instrument = {**SESSION, "measures": [{"instrument": "BDI", "items": [1]}]}
    assert record(client, str(uuid.uuid4()), unknown_instrument).status_code == 422
    assert record(client, str(uuid.uuid4()), {**SESSION, "mood": "ok"}).status_code == 422


def test_a_stale_if_match_is_412(client: FlaskClient, client_id: str) -> None:
    record(client, client_id)

    response = record(client, client_id, SESSION, **{"If-Match": '"0"'})

    assert response.status_code == 412


def test_recording_needs_the_write_scope(client: FlaskClient) -> None:
    response = client.post(
        f"/v1/clients/{uuid.uuid4()}/sessions", json=SESSION, headers=bearer(scopes="progress:read")
    )
    assert response.status_code == 403


def test_an_alert_is_acknowledged_once_with_what_was_done(
    app: Flask, client: FlaskClient, client_id: str
) -> None:
    body = {**SESSION, "measures": [{"instrument": "PHQ-9", "items": PHQ9_RISK}]}
    [alert] = record(client, client_id, body).get_json()["alerts"]
    path = f"/v1/clients/{client_id}/alerts/{alert['alert_id']}/acknowledgement"
    ack = {"acknowledged_by": {"role": "clinician", "id": "dr-1"}, "action_taken": "Called them"}

    first = client.post(path, json=ack, headers=bearer())
    again = client.post(path, json=ack, headers=bearer())

    assert first.status_code == 200
    assert first.get_json()["alert_id"] == alert["alert_id"]
    assert first.headers["ETag"] == '"2"'
    assert again.status_code == 409
    relay(app)
    items = client.get(f"/v1/clients/{client_id}/timeline", headers=bearer()).get_json()["items"]
    assert [i["type"] for i in items][-1] == "alert_acknowledged"


def test_acknowledging_an_alert_that_was_never_raised_is_a_404(
    client: FlaskClient, client_id: str
) -> None:
    record(client, client_id)
    ack = {"acknowledged_by": {"role": "clinician", "id": "dr-1"}, "action_taken": "Called"}

    response = client.post(
        f"/v1/clients/{client_id}/alerts/{uuid.uuid4()}/acknowledgement", json=ack, headers=bearer()
    )

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_milestones_list_only_milestones_in_timeline_order(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], acceptance_milestones: list[str]
) -> None:
    events = journey()
    project(app, events.acceptance_journey())

    response = client.get(f"/v1/clients/{events.client_id}/milestones", headers=bearer())

    assert [m["type"] for m in response.get_json()["items"]] == acceptance_milestones


def test_the_measures_trajectory_shows_change_from_the_screening_baseline(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    events = journey()
    project(app, events.acceptance_journey())

    response = client.get(
        f"/v1/clients/{events.client_id}/measures?instrument=PHQ-9", headers=bearer()
    )

    body = response.get_json()
    assert body["baseline"] == 15
    screening, session = body["points"]
    assert (screening["source"], screening["score"], screening["band"]) == (
        "screening",
        15,
        "moderately severe",
    )
    assert (session["score"], session["band"], session["change_from_baseline"]) == (8, "mild", -7)
    assert session["reliable_change"] == "improved"
    assert session["reliable_improvement"] and session["recovery"]
    assert not session["reliable_deterioration"]


def test_measures_need_a_known_instrument_and_a_known_client(client: FlaskClient) -> None:
    assert client.get(f"/v1/clients/{uuid.uuid4()}/measures", headers=bearer()).status_code == 422
    unknown = client.get(f"/v1/clients/{uuid.uuid4()}/measures?instrument=ORS", headers=bearer())
    assert unknown.status_code == 404


def test_a_session_recorded_over_http_reaches_the_measures_once_projected(
    app: Flask, client: FlaskClient, client_id: str
) -> None:
    record(client, client_id)
    relay(app)

    response = client.get(f"/v1/clients/{client_id}/measures?instrument=SRS", headers=bearer())

    [point] = response.get_json()["points"]
    assert (point["score"], point["date"], point["band"]) == (38.0, "2025-03-20", "strong alliance")


def test_measures_come_in_pages_of_at_most_limit_points_with_a_cursor(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    events = journey()
    project(app, events.acceptance_journey())
    path = f"/v1/clients/{events.client_id}/measures?instrument=PHQ-9&limit=1"

    first = client.get(path, headers=bearer()).get_json()
    second = client.get(f"{path}&cursor={first['next_cursor']}", headers=bearer()).get_json()
    too_many = client.get(f"{path[:-1]}501", headers=bearer())

    assert [p["source"] for p in first["points"] + second["points"]] == ["screening", "session"]
    assert second["next_cursor"] is None and first["baseline"] == second["baseline"] == 15
    assert too_many.status_code == 422 and "limit" in too_many.get_json()["errors"]


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"])
def test_a_session_dated_outside_the_years_1900_to_2100_is_a_422_naming_date(
    client: FlaskClient, client_id: str, day: str
) -> None:
    response = record(client, client_id, {**SESSION, "date": day})

    assert response.status_code == 422
    assert "date" in response.get_json()["errors"]


def sessions_stored(app: Flask) -> int:
    with app.extensions["waypoint"].engine.connect() as conn:
        query = "SELECT count(*) FROM events WHERE type LIKE '%session_recorded%'"
        return int(conn.execute(text(query)).scalar_one())


def days_from_today(days: int) -> str:
    """A date counted from today in UTC, the day the service takes as today."""
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "measure",
    [
        {"instrument": "PHQ-9", "items": PHQ9_MILD},
        {"instrument": "GAD-7", "items": [0, 0, 0, 0, 0, 0, 0]},
        {"instrument": "ORS", "items": [5.0, 5.0, 5.0, 5.0]},
        {"instrument": "SRS", "items": [9.5, 9.5, 9.5, 9.5]},
    ],
    ids=lambda measure: measure["instrument"],
)
def test_a_session_the_client_did_not_attend_carries_no_measure_so_one_with_a_measure_is_a_422(
    app: Flask, client: FlaskClient, client_id: str, measure: dict[str, Any]
) -> None:
    response = record(client, client_id, {**SESSION, "attended": False, "measures": [measure]})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    [message] = response.get_json()["errors"]["measures"]
    assert "attended" in message
    assert sessions_stored(app) == 0


def test_a_session_the_client_did_not_attend_is_still_recorded_without_measures(
    app: Flask, client: FlaskClient, client_id: str
) -> None:
    missed = {"date": "2025-03-20", "attended": False, "reflection": "Could not come"}

    response = record(client, client_id, missed)

    assert response.status_code == 201
    assert (response.get_json()["attended"], response.get_json()["measures"]) == (False, [])
    assert sessions_stored(app) == 1


@pytest.mark.parametrize("days_ahead", [2, 30, 365])
def test_a_session_dated_more_than_one_day_after_today_is_a_422_naming_date(
    app: Flask, client: FlaskClient, client_id: str, days_ahead: int
) -> None:
    response = record(client, client_id, {**SESSION, "date": days_from_today(days_ahead)})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["date"]
    assert sessions_stored(app) == 0


@pytest.mark.parametrize("days_ahead", [1, 0, -31, -3650])
def test_a_session_dated_tomorrow_today_or_in_the_past_is_recorded(
    app: Flask, client: FlaskClient, client_id: str, days_ahead: int
) -> None:
    response = record(client, client_id, {**SESSION, "date": days_from_today(days_ahead)})

    assert response.status_code == 201
    assert sessions_stored(app) == 1


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_reading_a_session_as_of_a_time_outside_the_range_is_a_422_naming_as_of(
    client: FlaskClient, client_id: str, as_of: str
) -> None:
    session_id = record(client, client_id).get_json()["session_id"]

    response = client.get(
        f"/v1/clients/{client_id}/sessions/{session_id}",
        query_string={"as_of": as_of},
        headers=bearer(),
    )

    assert response.status_code == 422
    assert "as_of" in response.get_json()["errors"]


def test_a_session_for_a_client_progress_has_not_heard_of_is_409_not_known_yet(
    app: Flask, client: FlaskClient
) -> None:
    client_id = str(uuid.uuid4())

    response = record(client, client_id)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("client not known yet: ")
    assert response.headers["Retry-After"] == "1"
    with app.extensions["waypoint"].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0


def test_a_referral_in_another_tenant_does_not_make_the_client_known_here(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    elsewhere = journey(tenant="clinic-b")
    project(app, [elsewhere.referral()])

    response = record(client, elsewhere.client_id, SESSION, **{"If-Match": '"1"'})

    assert response.status_code == 409
    assert response.get_json()["detail"].startswith("client not known yet: ")
    assert "current_version" not in response.get_json()


def test_an_acknowledgement_for_a_client_not_known_yet_is_409(client: FlaskClient) -> None:
    ack = {"acknowledged_by": {"role": "clinician", "id": "dr-1"}, "action_taken": "Called"}
    path = f"/v1/clients/{uuid.uuid4()}/alerts/{uuid.uuid4()}/acknowledgement"

    response = client.post(path, json=ack, headers=bearer())

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("stop", "reason"),
    [("discharge", "discharged"), ("revocation", "treatment_consent_revoked")],
)
def test_no_session_after_a_discharge_or_a_revoked_treatment_consent(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], stop: str, reason: str
) -> None:
    events = journey()
    before = [events.referral(), events.consent("treatment")]
    later = events.discharge() if stop == "discharge" else events.consent_revoked("treatment")
    project(app, [*before, later])

    response = record(client, events.client_id)

    assert response.status_code == 409
    assert response.get_json()["reason"] == reason
    assert "Retry-After" not in response.headers


def test_the_openapi_document_says_which_sessions_are_refused_with_a_422(
    client: FlaskClient,
) -> None:
    spec = client.get("/openapi.json").get_json()

    refused = spec["paths"]["/v1/clients/{client_id}/sessions"]["post"]["responses"]["422"]
    fields = spec["components"]["schemas"]["SessionInput"]["properties"]
    assert "session not attended" in refused["description"]
    assert "one day after today" in refused["description"]
    assert "one day after today" in fields["date"]["description"]
    assert "attended session only" in fields["measures"]["description"]
