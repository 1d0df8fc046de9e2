"""Proposing and reading goals over HTTP: only for clients goals has heard of from intake."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer
from waypoint_devkit.apps import envelope as devkit_envelope
from waypoint_goals.service_layer import projector
from waypoint_shared.db.database import run_in_transaction

PROPOSAL: dict[str, Any] = {
    "title": "Walk to the park twice a week",
    "why_it_matters": "Being outside helps me feel like myself",
    "strengths": ["curious", "persistent"],
    "modality": "act",
    "priority": "high",
    "target_date": "2025-09-01",
    "target": {"instrument": "PHQ-9", "score": 9},
    "proposed_by": {"role": "client", "id": "c-1"},
}


def intake_referred(app: Flask, client_id: str, tenant: str = "clinic-a") -> None:
    """What goals' consumer does when intake's client_referred event arrives."""
    envelope = devkit_envelope("intake", "client_referred", client_id, tenant)
    engine = app.extensions["waypoint"].engine
    run_in_transaction(engine, lambda conn: projector.client_referred(conn, envelope))


def propose(
    client: FlaskClient, client_id: str, tenant: str = "clinic-a", body: dict[str, Any] = PROPOSAL
) -> TestResponse:
    return client.post(f"/v1/clients/{client_id}/goals", json=body, headers=bearer(tenant))


def test_a_goal_for_a_client_not_known_yet_is_a_409_to_retry_shortly(client: FlaskClient) -> None:
    response = propose(client, str(uuid.uuid4()))

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "client not known yet" in response.get_json()["detail"]
    assert response.headers["Retry-After"] == "1"


def test_once_intake_referred_the_client_a_goal_is_proposed_and_reads_back(
    app: Flask, client: FlaskClient
) -> None:
    client_id = str(uuid.uuid4())
    intake_referred(app, client_id)

    created = propose(client, client_id)

    assert created.status_code == 201
    goal_id = created.get_json()["goal_id"]
    assert created.headers["Location"] == f"/v1/goals/{goal_id}"
    assert created.headers["ETag"] == '"1"'
    read = client.get(created.headers["Location"], headers=bearer())
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    goal = read.get_json()
    assert goal["lifecycle_status"] == "proposed"
    assert goal["client_id"] == client_id
    assert goal["title"] == PROPOSAL["title"]
    assert goal["strengths"] == PROPOSAL["strengths"]
    assert goal["target"] == {**PROPOSAL["target"], "direction": "at_or_below"}
    assert goal["target_date"] == "2025-09-01"


def test_a_client_known_to_another_tenant_is_not_known_here(
    app: Flask, client: FlaskClient
) -> None:
    client_id = str(uuid.uuid4())
    intake_referred(app, client_id, tenant="clinic-a")

    response = propose(client, client_id, tenant="clinic-b")

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


def test_another_tenants_goal_is_a_404_problem(app: Flask, client: FlaskClient) -> None:
    client_id = str(uuid.uuid4())
    intake_referred(app, client_id)
    location = propose(client, client_id).headers["Location"]

    response = client.get(location, headers=bearer("clinic-b"))

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_goal_texts_are_sealed_in_the_event_store(app: Flask, client: FlaskClient) -> None:
    client_id = str(uuid.uuid4())
    intake_referred(app, client_id)
    propose(client, client_id)

    with app.extensions["waypoint"].engine.connect() as conn:
        [raw] = conn.execute(text("SELECT data FROM events")).scalars()

    for plaintext in ("Walk to the park", "outside helps", "persistent"):
        assert plaintext not in raw
    data = json.loads(raw)
    assert data["title"].startswith("enc:v2:")
    assert data["modality"] == "act"
    assert data["client_id"] == client_id


def test_a_modality_outside_the_shared_enum_is_a_422_naming_it(
    app: Flask, client: FlaskClient
) -> None:
    client_id = str(uuid.uuid4())
    intake_referred(app, client_id)

    response = propose(client, client_id, body={**PROPOSAL, "modality": "astrology"})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"modality"}
