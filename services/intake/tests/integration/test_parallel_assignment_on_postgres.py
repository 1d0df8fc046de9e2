"""On PostgreSQL, where transactions really overlap, parallel assignments to a therapist's last
free place still let exactly one through: the therapist stream's version decides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import cast

import pytest
from flask import Flask
from flask.testing import FlaskClient

from waypoint_devkit.apps import app_with, bearer
from waypoint_intake.entrypoints.app import create_app

pytestmark = [pytest.mark.postgres]
HEADERS = bearer()
CLINICIAN = {"role": "clinician", "id": "clin-3"}
THERAPIST = {"name": "Dr. Vogel", "capacity": 2, "recorded_by": CLINICIAN}
REFERRAL = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


@pytest.fixture
def app(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_with(create_app, monkeypatch, INTAKE_DATABASE_URL=postgres_url)


def assign(http: FlaskClient, client_id: str, therapist_id: str) -> int:
    body = {"therapist_id": therapist_id, "recorded_by": CLINICIAN}
    response = http.put(f"/v1/clients/{client_id}/therapist", json=body, headers=HEADERS)
    return response.status_code


def refer(http: FlaskClient) -> str:
    response = http.post("/v1/clients", json=REFERRAL, headers=HEADERS)
    return cast(str, response.get_json()["client_id"])


def test_parallel_assignments_to_the_last_free_place_let_exactly_one_succeed(app: Flask) -> None:
    http = app.test_client()
    registered = http.post("/v1/therapists", json=THERAPIST, headers=HEADERS).get_json()
    therapist_id = registered["therapist_id"]
    assert assign(http, refer(http), therapist_id) == 200
    clients = [refer(http) for _ in range(10)]
    start, statuses = threading.Barrier(len(clients)), []

    def run(client_id: str) -> None:
        own = app.test_client()
        start.wait()
        statuses.append(assign(own, client_id, therapist_id))

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [409] * 9
    therapist = http.get(f"/v1/therapists/{therapist_id}", headers=HEADERS).get_json()
    assert therapist["caseload"] == 2
