"""What the shared edge answers for the forms every write and list documents: an `If-Match` that
is not a version's ETag is a 400 on any write, a query string over its limit a 400, and a
well-formed cursor the service did not hand out reads the page after the position it names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from waypoint_intake.entrypoints.app import create_app
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, mint_token
from waypoint_shared.http.web import MAX_QUERY_BYTES

A_REFERRAL = {"given_name": "Zoë", "family_name": "Okafor", "date_of_birth": "1991-04-02"}
BEARER = {"Authorization": f"Bearer {mint_token(DEVELOPMENT_SECRET, 'p', 'clinic-a', ALL_SCOPES)}"}


@pytest.fixture
def intake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WAYPOINT_ENV", "development")
    yield create_app().test_client()


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json()
    return body


@pytest.mark.parametrize("if_match", ["", 'W/"1"', '"1', '"x"', "*", '"1", "2"'])
def test_an_if_match_that_is_not_a_versions_etag_is_a_400_even_on_a_create(
    intake: FlaskClient, if_match: str
) -> None:
    headers = {**BEARER, "If-Match": if_match}
    answer = intake.post("/v1/clients", json=A_REFERRAL, headers=headers)
    assert "If-Match" in problem(answer, 400)["detail"]


def test_a_query_string_over_the_limit_is_a_400_problem(intake: FlaskClient) -> None:
    answer = intake.get(f"/v1/clients?cursor={'9' * MAX_QUERY_BYTES}", headers=BEARER)
    assert "query string" in problem(answer, 400)["detail"]


def test_a_well_formed_cursor_not_handed_out_reads_the_page_after_it(intake: FlaskClient) -> None:
    for _ in range(3):
        assert intake.post("/v1/clients", json=A_REFERRAL, headers=BEARER).status_code == 201
    first = intake.get("/v1/clients?limit=1", headers=BEARER).get_json()
    assert first["next_cursor"].isdigit()
    past_the_end = intake.get("/v1/clients?cursor=999999999", headers=BEARER)
    assert past_the_end.status_code == 200
    assert past_the_end.get_json() == {"items": [], "next_cursor": None}
    problem(intake.get("/v1/clients?cursor=bm90LWEtY3Vyc29y", headers=BEARER), 422)
