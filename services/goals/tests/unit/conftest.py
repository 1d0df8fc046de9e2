"""Goals over HTTP with real SQLite in tmp_path, and intake's events fed straight to the view."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from waypoint_devkit.apps import app_in
from waypoint_devkit.apps import envelope as devkit_envelope
from waypoint_goals.entrypoints.app import create_app
from waypoint_goals.service_layer import projector
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.http.auth import ALL_SCOPES, mint_token

THERAPIST = {"role": "therapist", "id": "t-7"}
CLIENT = {"role": "client", "id": "amara"}
GOAL = {
    "title": "Sleep through the night",
    "why_it_matters": "I want energy for my children",
    "strengths": ["determined"],
    "addresses": ["insomnia"],
    "modality": "cbt",
    "priority": "high",
    "target_date": "2025-12-01",
    "target": {"instrument": "PHQ-9", "score": 9},
    "proposed_by": THERAPIST,
}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_in(create_app, tmp_path, monkeypatch)


@dataclass
class Intake:
    """Delivers intake's events to goals' eligibility view as its consumer would."""

    app: Flask

    def tells(self, name: str, client_id: str, tenant: str = "clinic-a", **data: Any) -> None:
        envelope = devkit_envelope("intake", name, client_id, tenant, **data)
        engine = self.app.extensions["waypoint"].engine
        run_in_transaction(engine, lambda conn: projector.handle(conn, envelope))


@pytest.fixture
def intake(app: Flask) -> Intake:
    return Intake(app)


@dataclass
class GoalsApi:
    http: FlaskClient
    tenant: str = "clinic-a"
    scopes: str = ALL_SCOPES

    def headers(self, if_match: int | None = None) -> dict[str, str]:
        token = mint_token(DEVELOPMENT_SECRET, "ehr", self.tenant, self.scopes)
        headers = {"Authorization": f"Bearer {token}"}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        return headers

    def propose(self, client_id: str, **changes: Any) -> TestResponse:
        body = {**GOAL, **changes}
        return self.http.post(f"/v1/clients/{client_id}/goals", json=body, headers=self.headers())

    def post(self, path: str, body: dict[str, Any], if_match: int | None = None) -> TestResponse:
        return self.http.post(path, json=body, headers=self.headers(if_match))

    def patch(self, path: str, body: dict[str, Any], if_match: int | None = None) -> TestResponse:
        return self.http.patch(path, json=body, headers=self.headers(if_match))

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.http.get(path, query_string=query, headers=self.headers())


@pytest.fixture
def api(app: Flask) -> GoalsApi:
    return GoalsApi(app.test_client())


@pytest.fixture
def client_id(intake: Intake) -> str:
    """A client intake has referred."""
    client_id = str(uuid.uuid4())
    intake.tells("client_referred", client_id)
    return client_id


@pytest.fixture
def goal(api: GoalsApi, client_id: str) -> str:
    """The location of a goal the therapist proposed."""
    return str(api.propose(client_id).headers["Location"])


@pytest.fixture
def active_goal(api: GoalsApi, goal: str) -> str:
    """The location of a goal the client agreed to."""
    assert api.post(f"{goal}/agreement", {"agreed_by": CLIENT}).status_code == 200
    return goal
