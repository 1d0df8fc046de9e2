"""On PostgreSQL too: an idempotent retry answers the first reply, until the record expires; the
key is stored only as a keyed hash; and a moved sealed value answers 409, not the value."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from waypoint_devkit.apps import app_with, bearer
from waypoint_intake.entrypoints.app import create_app
from waypoint_shared.db.tables import idempotency_records

pytestmark = [pytest.mark.postgres]
HEADERS = bearer()
REFERRAL = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


@pytest.fixture
def app(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_with(create_app, monkeypatch, INTAKE_DATABASE_URL=postgres_url)


def refer(app: Flask, key: str) -> dict[str, Any]:
    headers = {**HEADERS, "Idempotency-Key": key}
    answer = app.test_client().post("/v1/clients", json=REFERRAL, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return cast(dict[str, Any], answer.get_json())


def test_a_retry_answers_the_first_reply_until_the_record_expires(app: Flask) -> None:
    key = f"referral-{uuid.uuid4()}"
    first = refer(app, key)
    assert refer(app, key)["client_id"] == first["client_id"]
    engine = app.extensions["waypoint"].engine
    with engine.connect() as conn:
        stored = conn.execute(select(idempotency_records.c.key)).scalars().all()
    assert hashlib.sha256(key.encode()).hexdigest() not in stored and key not in stored

    with engine.begin() as conn:
        long_ago = datetime.now(UTC) - timedelta(hours=25)
        conn.execute(update(idempotency_records).values(created_at=long_ago))

    assert refer(app, key)["client_id"] != first["client_id"]
    with engine.connect() as conn:
        assert len(conn.execute(select(idempotency_records)).all()) == 1


def test_a_sealed_name_moved_to_another_field_answers_409(app: Flask) -> None:
    client_id = refer(app, f"referral-{uuid.uuid4()}")["client_id"]
    engine = app.extensions["waypoint"].engine
    with engine.begin() as conn:
        [data] = conn.execute(
            text("SELECT data FROM events WHERE stream_id = :s"), {"s": client_id}
        ).scalars()
        data = data if isinstance(data, dict) else json.loads(data)
        moved = json.dumps({**data, "family_name": data["given_name"]})
        conn.execute(
            text("UPDATE events SET data = CAST(:d AS JSON) WHERE stream_id = :s"),
            {"d": moved, "s": client_id},
        )

    answer = app.test_client().get(f"/v1/clients/{client_id}", headers=HEADERS)

    assert answer.status_code == 409
    assert "Amara" not in answer.get_data(as_text=True)
