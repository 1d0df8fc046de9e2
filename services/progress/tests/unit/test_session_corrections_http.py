"""Amending a session's measures and marking a session entered in error, over HTTP: each a new
event with a sealed reason, refused where the session is unknown (or another tenant's), stale,
already entered in error or without a reason; and what follows once the projection has it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer

from ..conftest import JourneyEvents
from .test_sessions_http import PHQ9_RISK, SESSION, project, record, relay

PHQ9_16 = [2, 2, 2, 2, 2, 2, 2, 2, 0]
GAD7_7 = [1, 1, 1, 1, 1, 1, 1]
REASON = "Typed the GAD-7 answers into the PHQ-9 by mistake"
AMENDMENT = {
    "measures": [
        {"instrument": "PHQ-9", "items": PHQ9_16},
        {"instrument": "GAD-7", "items": GAD7_7},
    ],
    "reason": REASON,
}


def session_path(client_id: str, session_id: str) -> str:
    return f"/v1/clients/{client_id}/sessions/{session_id}"


def amend(
    client: FlaskClient,
    client_id: str,
    session_id: str,
    body: dict[str, Any] = AMENDMENT,
    *,
    tenant: str = "clinic-a",
    **headers: str,
) -> TestResponse:
    path = f"{session_path(client_id, session_id)}/amendments"
    return client.post(path, json=body, headers={**bearer(tenant), **headers})


def mark_in_error(
    client: FlaskClient, client_id: str, session_id: str, reason: str = "Another client's session"
) -> TestResponse:
    path = f"{session_path(client_id, session_id)}/entered-in-error"
    return client.post(path, json={"reason": reason}, headers=bearer())


def events_of_type(app: Flask, name: str) -> list[str]:
    with app.extensions["waypoint"].engine.connect() as conn:
        query = text("SELECT data FROM events WHERE type LIKE :type")
        return list(conn.execute(query, {"type": f"%.{name}.%"}).scalars())


@pytest.fixture
def referred(app: Flask, journey: type[JourneyEvents]) -> str:
    events = journey()
    project(app, [events.referral()])
    return events.client_id


@pytest.fixture
def session_id(client: FlaskClient, referred: str) -> str:
    return str(record(client, referred).get_json()["session_id"])


def test_an_amendment_answers_the_session_with_its_new_measures_and_a_new_version(
    client: FlaskClient, referred: str, session_id: str
) -> None:

    response = amend(client, referred, session_id, AMENDMENT, **{"If-Match": '"1"'})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    body = response.get_json()
    assert (body["status"], body["version"]) == ("amended", 2)
    assert [(m["instrument"], m["total"], m["band"]) for m in body["measures"]] == [
        ("PHQ-9", 16, "moderately severe"),
        ("GAD-7", 7, "mild"),
    ]
    read = client.get(session_path(referred, session_id), headers=bearer()).get_json()
    assert (read["status"], read["measures"], read["date"]) == (
        "amended",
        body["measures"],
        SESSION["date"],
    )


def test_the_clients_history_shows_the_session_then_its_amendment_with_the_reason(
    client: FlaskClient, referred: str, session_id: str
) -> None:
    amend(client, referred, session_id)

    history = client.get(f"/v1/clients/{referred}/history", headers=bearer())

    assert history.status_code == 200
    items = history.get_json()["items"]
    assert [(i["type"], i["version"], i["session_id"]) for i in items] == [
        ("session_recorded", 1, session_id),
        ("session_amended", 2, session_id),
    ]
    assert items[1]["reason"] == REASON
    assert [m["total"] for m in items[0]["measures"]] == [8, 6, 38.0]
    assert [m["total"] for m in items[1]["measures"]] == [16, 7]
    assert items[1]["actor"]["system"] == "ehr"


def test_the_history_comes_in_pages(client: FlaskClient, referred: str, session_id: str) -> None:
    amend(client, referred, session_id)
    path = f"/v1/clients/{referred}/history"

    first = client.get(f"{path}?limit=1", headers=bearer()).get_json()
    second = client.get(f"{path}?limit=1&cursor={first['next_cursor']}", headers=bearer())

    assert [i["type"] for i in first["items"]] == ["session_recorded"]
    assert [i["type"] for i in second.get_json()["items"]] == ["session_amended"]
    assert second.get_json()["next_cursor"] is None
    assert client.get(f"{path}?cursor=bm9wZQ", headers=bearer()).status_code == 422


def test_the_reason_is_sealed_at_rest(app: Flask, client: FlaskClient, referred: str) -> None:
    first, second = (record(client, referred).get_json()["session_id"] for _ in range(2))

    amend(client, referred, first)
    mark_in_error(client, referred, second, "Recorded under the wrong client")

    [amended], [in_error] = (
        events_of_type(app, "session_amended"),
        events_of_type(app, "session_entered_in_error"),
    )
    assert "GAD-7 answers" not in amended and json.loads(amended)["reason"].startswith("enc:v2:")
    assert "wrong client" not in in_error and json.loads(in_error)["reason"].startswith("enc:v2:")


def test_an_unknown_session_of_a_known_client_is_a_404_problem(
    client: FlaskClient, referred: str, session_id: str
) -> None:
    unknown = str(uuid.uuid4())

    for response in (amend(client, referred, unknown), mark_in_error(client, referred, unknown)):
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
        assert response.get_json()["detail"] == f"No session {unknown} of this client."


def test_another_tenants_session_is_answered_exactly_as_an_unknown_one(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], referred: str, session_id: str
) -> None:
    # The same client id referred in another tenant too: its sessions are another stream.
    project(app, [journey(referred, tenant="clinic-b").referral()])
    unknown = str(uuid.uuid4())

    theirs = amend(client, referred, session_id, tenant="clinic-b")
    none = amend(client, referred, unknown, tenant="clinic-b")

    assert (theirs.status_code, none.status_code) == (404, 404)
    assert theirs.get_json()["detail"].replace(session_id, unknown) == none.get_json()["detail"]
    # and a client only another tenant has referred is "not known yet", like a random id
    stranger = amend(client, str(uuid.uuid4()), session_id, tenant="clinic-b")
    other = amend(client, referred, session_id, tenant="clinic-c")
    assert (other.status_code, other.get_json()["title"]) == (
        stranger.status_code,
        stranger.get_json()["title"],
    )
    mine = client.get(session_path(referred, session_id), headers=bearer("clinic-a"))
    assert mine.get_json()["status"] == "recorded"


def test_a_stale_if_match_is_refused_with_412_and_nothing_is_recorded(
    app: Flask, client: FlaskClient, referred: str, session_id: str
) -> None:
    record(client, referred)  # the client's stream is now at version 2

    response = amend(client, referred, session_id, AMENDMENT, **{"If-Match": '"1"'})

    assert response.status_code == 412
    assert response.get_json()["current_version"] == 2
    assert events_of_type(app, "session_amended") == []


def test_a_session_entered_in_error_can_be_neither_amended_nor_marked_again(
    app: Flask, client: FlaskClient, referred: str, session_id: str
) -> None:
    marked = mark_in_error(client, referred, session_id)
    assert (marked.status_code, marked.get_json()["status"]) == (200, "entered_in_error")

    for response in (
        amend(client, referred, session_id),
        mark_in_error(client, referred, session_id),
    ):
        assert response.status_code == 409
        assert response.get_json()["detail"] == (
            f"Session {session_id} was marked entered in error; it cannot be changed."
        )
    assert events_of_type(app, "session_amended") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"measures": AMENDMENT["measures"]}, "reason"),
        ({**AMENDMENT, "reason": "   "}, "reason"),
        ({"reason": REASON}, "measures"),
        ({**AMENDMENT, "measures": [{"instrument": "PHQ-9", "items": [1, 2]}]}, "measures"),
    ],
    ids=["no reason", "blank reason", "no measures", "items that do not fit"],
)
def test_an_amendment_without_a_reason_or_with_unfit_measures_is_a_422_naming_the_field(
    app: Flask, client: FlaskClient, referred: str, session_id: str, body: Any, field: str
) -> None:

    response = amend(client, referred, session_id, body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert events_of_type(app, "session_amended") == []


def test_marking_entered_in_error_without_a_reason_is_a_422(
    client: FlaskClient, referred: str, session_id: str
) -> None:
    path = f"{session_path(referred, session_id)}/entered-in-error"

    response = client.post(path, json={}, headers=bearer())

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]


def test_measures_for_a_session_not_attended_are_a_409_naming_measures(
    client: FlaskClient, referred: str
) -> None:
    missed = record(client, referred, {"date": "2025-03-20", "attended": False})

    response = amend(client, referred, missed.get_json()["session_id"])

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "measures": ["Measures are taken only in a session the client attended."]
    }


def test_an_amendment_sent_again_with_its_idempotency_key_answers_the_first_and_records_once(
    app: Flask, client: FlaskClient, referred: str, session_id: str
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first, again = (amend(client, referred, session_id, AMENDMENT, **key) for _ in range(2))

    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(events_of_type(app, "session_amended")) == 1


def test_an_amendment_that_puts_item_9_above_0_raises_a_risk_flag_at_once(
    client: FlaskClient, referred: str, session_id: str
) -> None:
    body = {**AMENDMENT, "measures": [{"instrument": "PHQ-9", "items": PHQ9_RISK}]}

    response = amend(client, referred, session_id, body)

    assert [a["rule"] for a in response.get_json()["alerts"]] == ["risk_flag"]


def test_once_projected_the_timeline_fhir_and_outcome_show_the_amended_measures(
    app: Flask, client: FlaskClient, referred: str, session_id: str
) -> None:
    assert amend(client, referred, session_id).status_code == 200
    relay(app)

    timeline = client.get(f"/v1/clients/{referred}/timeline?kind=event", headers=bearer())
    titles = [e["title"] for e in timeline.get_json()["items"]]
    assert "Session checked in (measures amended)" in titles
    assert "Session measures amended" in titles
    bundle = client.get(f"/fhir/Observation?patient={referred}", headers=bearer()).get_json()
    phq9 = next(e["resource"] for e in bundle["entry"] if e["resource"]["code"]["text"] == "PHQ-9")
    assert (phq9["status"], phq9["valueInteger"]) == ("amended", 16)
    history = client.get(f"/v1/clients/{referred}/history", headers=bearer()).get_json()
    assert phq9["issued"] == history["items"][-1]["recorded_at"]
    srs = [e["resource"] for e in bundle["entry"] if e["resource"]["code"]["text"] == "SRS"]
    # The amendment measured PHQ-9 and GAD-7 only: the SRS once published was entered in error.
    assert [o["status"] for o in srs] == ["entered-in-error"]
    outcome = client.get(f"/v1/clients/{referred}/outcome", headers=bearer()).get_json()
    assert outcome["last"]["PHQ-9"] == 16


def test_once_projected_a_session_entered_in_error_is_marked_in_fhir_and_leaves_the_outcome(
    app: Flask, client: FlaskClient, referred: str, session_id: str
) -> None:
    mark_in_error(client, referred, session_id)
    relay(app)

    bundle = client.get(f"/fhir/Observation?patient={referred}", headers=bearer()).get_json()
    assert {e["resource"]["status"] for e in bundle["entry"]} == {"entered-in-error"}
    outcome = client.get(f"/v1/clients/{referred}/outcome", headers=bearer()).get_json()
    assert (outcome["attended_sessions"], outcome["last"]["PHQ-9"]) == (0, None)
    measures = client.get(f"/v1/clients/{referred}/measures?instrument=PHQ-9", headers=bearer())
    assert measures.get_json()["points"] == []
