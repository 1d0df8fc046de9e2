"""The timeline over HTTP, fed by the projector as the consumer would feed it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.messaging.envelope import Envelope

REFERRED_AT = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)


def a_referral(client_id: str, tenant: str = "clinic-a") -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid4()),
        source_service="intake",
        type="waypoint.intake.client_referred.v1",
        client_id=client_id,
        tenant_id=tenant,
        time=REFERRED_AT,
        stream_version=1,
        correlation_id="req-1",
        causation_id="req-1",
        data={"client_id": client_id},
    )


def project(app: Flask, envelope: Envelope) -> None:
    container = app.extensions["waypoint"]
    run_in_transaction(container.engine, lambda conn: container.projector.handle(conn, envelope))


def timeline(app: Flask, client_id: str, tenant: str = "clinic-a", **query: Any) -> TestResponse:
    return app.test_client().get(
        f"/v1/clients/{client_id}/timeline", query_string=query, headers=bearer(tenant)
    )


def test_a_referral_shows_as_an_event_and_the_journey_started_milestone(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    referral = a_referral(client_id)
    project(app, referral)

    response = timeline(app, client_id)

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["kind"], i["type"]) for i in items] == [
        ("event", "client_referred"),
        ("milestone", "journey_started"),
    ]
    assert {i["source"]["event_id"] for i in items} == {referral.event_id}
    assert all(datetime.fromisoformat(i["occurred_at"]) == REFERRED_AT for i in items)


def test_a_redelivered_referral_changes_nothing_and_publishes_one_milestone(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    referral = a_referral(client_id)

    project(app, referral)
    project(app, referral)

    assert len(timeline(app, client_id).get_json()["items"]) == 2
    with app.extensions["waypoint"].engine.connect() as conn:
        types = conn.execute(text("SELECT type FROM events")).scalars().all()
    assert types == ["waypoint.progress.milestone_reached.v1"]


def test_the_timeline_filters_by_kind_and_pages_with_a_cursor(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    project(app, a_referral(client_id))

    milestones = timeline(app, client_id, kind="milestone").get_json()["items"]
    first = timeline(app, client_id, limit=1).get_json()
    second = timeline(app, client_id, limit=1, cursor=first["next_cursor"]).get_json()

    assert [m["type"] for m in milestones] == ["journey_started"]
    assert first["items"][0]["kind"] == "event"
    assert second["items"][0]["kind"] == "milestone"
    assert second["next_cursor"] is None


def test_another_tenants_timeline_is_a_404_problem(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    project(app, a_referral(client_id, tenant="clinic-a"))

    response = timeline(app, client_id, tenant="clinic-b")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_cursor_not_handed_out_by_the_service_is_a_422_problem(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    project(app, a_referral(client_id))

    response = timeline(app, client_id, cursor="bm90LWEtY3Vyc29y")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "cursor" in response.get_json()["errors"]


def test_an_entry_carries_its_clinical_time_and_the_time_it_was_recorded(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    referral = a_referral(client_id)
    project(app, replace(referral, data={**referral.data, "referred_on": "2024-11-05"}))

    items = timeline(app, client_id).get_json()["items"]

    clinical = datetime(2024, 11, 5, tzinfo=UTC)
    assert [(i["type"], datetime.fromisoformat(i["occurred_at"])) for i in items] == [
        ("client_referred", clinical),
        ("journey_started", clinical),
    ]
    assert all(datetime.fromisoformat(i["recorded_at"]) == REFERRED_AT for i in items)


def test_since_and_until_select_entries_by_clinical_time(app: Flask) -> None:
    client_id = str(uuid.uuid4())
    referral = a_referral(client_id)
    project(app, replace(referral, data={**referral.data, "referred_on": "2024-11-05"}))

    before = timeline(app, client_id, until="2024-12-01T00:00:00Z").get_json()["items"]
    after = timeline(app, client_id, since="2024-12-01T00:00:00Z").get_json()["items"]

    assert [i["type"] for i in before] == ["client_referred", "journey_started"]
    assert after == []


def test_the_openapi_document_says_which_time_is_clinical_and_which_recorded(app: Flask) -> None:
    spec = app.test_client().get("/openapi.json").get_json()

    entry = spec["components"]["schemas"]["Entry"]["properties"]
    assert entry["occurred_at"]["description"].startswith("Clinical time")
    assert entry["recorded_at"]["description"].startswith("Recorded time")
    until = next(
        p
        for p in spec["paths"]["/v1/clients/{client_id}/timeline"]["get"]["parameters"]
        if p["name"] == "until"
    )
    assert "clinical time" in until["description"]
