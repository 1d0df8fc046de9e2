"""The fast referral path answers what a later read of the client shows."""

from __future__ import annotations

from .conftest import REFERRAL, Driver


def test_a_referral_answers_what_a_read_of_the_client_shows(intake: Driver) -> None:
    created = intake.call("POST", "/v1/clients", REFERRAL)
    read = intake.call("GET", created.headers["Location"])

    assert created.status_code == 201
    assert created.json == read.json
    assert created.headers["ETag"] == read.headers["ETag"] == '"1"'
