"""On PostgreSQL the roster and the client list page with their prebuilt statements (tenant,
position and LIMIT as bound parameters): every item once, in arrival order, page after page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from waypoint_devkit.apps import app_with, bearer
from waypoint_intake.entrypoints.app import create_app

pytestmark = [pytest.mark.postgres]
HEADERS = bearer()
CLINICIAN = {"role": "clinician", "id": "clin-3"}


@pytest.fixture
def app(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_with(create_app, monkeypatch, INTAKE_DATABASE_URL=postgres_url)


def every_page(http: FlaskClient, path: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = http.get(f"{path}{query}", headers=HEADERS).get_json()
        pages.append([item["therapist_id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_the_roster_pages_in_registration_order(app: Flask) -> None:
    http = app.test_client()
    registered = [
        http.post(
            "/v1/therapists",
            json={"name": f"Dr. {n}", "capacity": 2, "recorded_by": CLINICIAN},
            headers=HEADERS,
        ).get_json()["therapist_id"]
        for n in range(5)
    ]

    pages = every_page(http, "/v1/therapists", limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [t for page in pages for t in page] == registered
