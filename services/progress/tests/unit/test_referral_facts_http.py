"""What intake's referral tells progress's sessions: no session dated before the referral, and the
ORS band by the client's age group. The referral's `referred_on` and `age_group` are set by hand
on the kept facts, as intake publishes them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select, update

from waypoint_progress.adapters.tables import source_events
from waypoint_shared.db.database import run_in_transaction

from ..conftest import JourneyEvents
from .test_sessions_http import SESSION, project, record, sessions_stored

ORS_30 = {"instrument": "ORS", "items": [7.5, 7.5, 7.5, 7.5]}


def referred(app: Flask, journey: type[JourneyEvents], **facts: Any) -> str:
    """A client whose kept referral carries these facts besides its own."""
    events = journey()
    project(app, [events.referral()])
    t = source_events

    def add_facts(conn: Connection) -> None:
        mine = t.c.client_id == events.client_id
        kept = conn.execute(select(t.c.facts).where(mine)).scalar_one()
        conn.execute(update(t).where(mine).values(facts={**kept, **facts}))

    run_in_transaction(app.extensions["waypoint"].engine, add_facts)
    return events.client_id


@pytest.mark.parametrize("day", ["2025-03-03", "2024-12-31", "1900-01-01"])
def test_a_session_dated_before_the_referral_is_a_409_naming_date_and_not_stored(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], day: str
) -> None:
    client_id = referred(app, journey, referred_on="2025-03-04")

    response = record(client, client_id, {**SESSION, "date": day})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "date": ["Must not be before the client's referral on 2025-03-04."]
    }
    assert sessions_stored(app) == 0


def test_a_session_on_the_referral_day_is_recorded(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents]
) -> None:
    client_id = referred(app, journey, referred_on="2025-03-04")

    response = record(client, client_id, {**SESSION, "date": "2025-03-04"})

    assert response.status_code == 201
    assert sessions_stored(app) == 1


@pytest.mark.parametrize("facts", [{}, {"referred_on": None}], ids=["v1", "upcast"])
def test_a_referral_that_does_not_say_its_date_sets_no_bound(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], facts: dict[str, Any]
) -> None:
    client_id = referred(app, journey, **facts)

    response = record(client, client_id, {**SESSION, "date": "1900-01-01"})

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("age_group", "band"),
    [
        ("child", "clinical range"),
        ("adolescent", "non-clinical range"),
        ("adult", "non-clinical range"),
        (None, "non-clinical range"),
    ],
)
def test_ors_30_is_banded_by_the_clients_age_group(
    app: Flask, client: FlaskClient, journey: type[JourneyEvents], age_group: str, band: str
) -> None:
    client_id = referred(app, journey, age_group=age_group)

    response = record(client, client_id, {**SESSION, "measures": [ORS_30]})

    assert response.status_code == 201
    [measure] = response.get_json()["measures"]
    assert (measure["total"], measure["band"]) == (30.0, band)
