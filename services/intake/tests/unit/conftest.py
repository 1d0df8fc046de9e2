"""Intake over HTTP with real SQLite in tmp_path: a small driver for the journey's steps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import app_in, bearer
from waypoint_intake.entrypoints.app import create_app

CLINICIAN = {"role": "clinician", "id": "clin-3"}
REFERRAL = {
    "given_name": "Amara",
    "family_name": "Osei",
    "date_of_birth": "1992-06-30",
    "email": "amara.osei@example.org",
    "preferred_language": "de",
    "presenting_concerns": ["panic at night", "grief"],
}
THERAPIST = {
    "name": "Dr. Lena Vogel",
    "gender": "female",
    "languages": ["de", "en"],
    "modalities": ["cbt", "act"],
    "specialties": ["panic", "grief"],
    "capacity": 5,
    "recorded_by": {"role": "administrator", "id": "admin-1"},
}
TREATMENT = {
    "kind": "treatment",
    "document_version": "2025-01",
    "signed_by": "Amara Osei",
    "signed_at": "2025-02-01T10:00:00+00:00",
    "recorded_by": CLINICIAN,
}
CONFIDENTIALITY = {**TREATMENT, "kind": "confidentiality", "limits_acknowledged": True}


@dataclass
class Driver:
    app: Flask
    http: FlaskClient
    tenant: str = "clinic-a"

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> TestResponse:
        headers = {**bearer(self.tenant), **headers}
        return self.http.open(path, method=method, json=body, headers=headers)

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.http.get(path, query_string=query, headers=bearer(self.tenant))

    def refer(self, **changes: Any) -> str:
        unique = {"external_id": f"EHR-{uuid.uuid4()}"}
        response = self.call("POST", "/v1/clients", {**REFERRAL, **unique, **changes})
        assert response.status_code == 201, response.get_json()
        return cast(str, response.get_json()["client_id"])

    def register(self, **changes: Any) -> str:
        response = self.call("POST", "/v1/therapists", {**THERAPIST, **changes})
        assert response.status_code == 201, response.get_json()
        return cast(str, response.get_json()["therapist_id"])

    def step(self, client_id: str, method: str, path: str, body: Any, status: int = 200) -> Any:
        response = self.call(method, f"/v1/clients/{client_id}{path}", body)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def screen(self, client_id: str, instrument: str, items: list[int]) -> dict[str, Any]:
        body = {"instrument": instrument, "items": items, "recorded_by": CLINICIAN}
        return cast(dict[str, Any], self.step(client_id, "POST", "/screenings", body))

    def assign(self, client_id: str, therapist_id: str, status: int = 200) -> Any:
        body = {"therapist_id": therapist_id, "recorded_by": CLINICIAN}
        return self.step(client_id, "PUT", "/therapist", body, status)

    def ready_for_completion(self, **referral: Any) -> str:
        client_id = self.refer(**referral)
        self.step(client_id, "POST", "/consents", TREATMENT)
        self.step(client_id, "POST", "/consents", CONFIDENTIALITY)
        self.screen(client_id, "PHQ-9", [1] * 8 + [0])
        self.assign(client_id, self.register())
        return client_id

    def stored_events(self, stream_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT stream_id, type, data, metadata FROM events ORDER BY position"
        with self.app.extensions["waypoint"].engine.connect() as conn:
            rows = list(conn.execute(text(sql)))
        return [
            {
                "stream_id": r[0],
                "type": r[1],
                "data": json.loads(r[2]),
                "metadata": json.loads(r[3]),
            }
            for r in rows
            if stream_id is None or r[0] == stream_id
        ]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_in(create_app, tmp_path, monkeypatch)


@pytest.fixture
def intake(app: Flask) -> Driver:
    return Driver(app, app.test_client())
