"""Attacks on sealed personal data and on stored idempotent replies, against the real suite.

Someone with write access to a service's database file (a backup restored by the wrong person, a
compromised host, a careless migration) moves sealed values around; an integrator sends guessable
idempotency keys; a client is erased while the stored reply of one of their writes lingers."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from waypoint_devkit.waiting import wait_until

from .conftest import refer, url

ADMIN = {"role": "administrator", "id": "dpo-1"}
THERAPIST = {"role": "therapist", "id": "t-1"}
CLIENT = {"role": "client", "id": "c-1"}
REFERRAL = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


@contextmanager
def database(suite: Any, service: str) -> Iterator[sqlite3.Connection]:
    """The service's SQLite file, opened beside the running processes (they keep working)."""
    db = sqlite3.connect(Path(suite.var_dir) / f"{service}.db", timeout=30)
    try:
        with db:
            yield db
    finally:
        db.close()


def count(suite: Any, service: str, table: str) -> int:
    with database(suite, service) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def referred(suite: Any, headers: dict[str, str], **names: str) -> str:
    body = {**REFERRAL, **names}
    answer = requests.post(url(suite, "intake", "/v1/clients"), json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["client_id"])


def referral_data(db: sqlite3.Connection, client_id: str) -> dict[str, Any]:
    [(data,)] = db.execute(
        "SELECT data FROM events WHERE stream_id = ? AND type LIKE '%client_referred%'",
        (client_id,),
    ).fetchall()
    return dict(json.loads(data))


def store_referral_data(db: sqlite3.Connection, client_id: str, data: dict[str, Any]) -> None:
    db.execute(
        "UPDATE events SET data = ? WHERE stream_id = ? AND type LIKE '%client_referred%'",
        (json.dumps(data), client_id),
    )


def proposed_goal(suite: Any, headers: dict[str, str], client_id: str) -> str:
    proposal = {"title": "Walk daily", "modality": "cbt", "priority": "low"}
    goals = url(suite, "goals", f"/v1/clients/{client_id}/goals")

    def propose() -> str | None:
        answer = requests.post(goals, json={**proposal, "proposed_by": THERAPIST}, headers=headers)
        return str(answer.json()["goal_id"]) if answer.status_code == 201 else None

    return wait_until(propose, what="goals to know the client")


def assert_refused_cleanly(answer: requests.Response, *never_shown: str) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["title"] == "Record unreadable"
    for value in never_shown:
        assert value not in answer.text


def test_a_fifteen_character_idempotency_key_is_refused_and_nothing_is_stored(suite, clinic_a):
    replies = count(suite, "intake", "idempotency_records")
    events = count(suite, "intake", "events")
    headers = {**clinic_a, "Idempotency-Key": "fifteen-chars-k"}

    answer = requests.post(url(suite, "intake", "/v1/clients"), json=REFERRAL, headers=headers)

    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in answer.json()["errors"]
    assert count(suite, "intake", "idempotency_records") == replies
    assert count(suite, "intake", "events") == events


def test_erasing_a_client_deletes_the_stored_reply_of_a_planned_step(suite, clinic_a):
    client_id = refer(suite, clinic_a)
    goal = proposed_goal(suite, clinic_a, client_id)
    agreement = url(suite, "goals", f"/v1/goals/{goal}/agreement")
    assert requests.post(agreement, json={"agreed_by": CLIENT}, headers=clinic_a).ok
    steps = url(suite, "goals", f"/v1/goals/{goal}/steps")
    once = {**clinic_a, "Idempotency-Key": f"step-{uuid.uuid4()}"}
    step = {"description": "Walk past Lake Wrenfield each morning"}
    assert requests.post(steps, json=step, headers=once).status_code == 201
    path = f"/v1/goals/{goal}/steps"
    stored = "SELECT count(*) FROM idempotency_records WHERE path = ?"
    with database(suite, "goals") as db:
        assert db.execute(stored, (path,)).fetchone()[0] == 1

    erasure = {"reason": "The client asked to be forgotten", "recorded_by": ADMIN}
    erase = url(suite, "intake", f"/v1/clients/{client_id}/erasure")
    assert requests.post(erase, json=erasure, headers=clinic_a).status_code == 200
    goal_url = url(suite, "goals", f"/v1/goals/{goal}")
    wait_until(
        lambda: requests.get(goal_url, headers=clinic_a).status_code == 410,
        what="goals to erase the client",
    )

    with database(suite, "goals") as db:
        assert db.execute(stored, (path,)).fetchone()[0] == 0
    retry = requests.post(steps, json=step, headers=once)
    assert retry.status_code != 201
    assert "Wrenfield" not in retry.text


def test_a_sealed_name_copied_into_another_clients_record_is_never_shown_as_theirs(suite, clinic_a):
    victim = referred(suite, clinic_a, given_name="Zebedee")
    target = referred(suite, clinic_a, given_name="Robin")
    with database(suite, "intake") as db:
        stolen = referral_data(db, victim)["given_name"]
        store_referral_data(db, target, {**referral_data(db, target), "given_name": stolen})

    answer = requests.get(url(suite, "intake", f"/v1/clients/{target}"), headers=clinic_a)

    assert_refused_cleanly(answer, "Zebedee")
    victims_record = requests.get(url(suite, "intake", f"/v1/clients/{victim}"), headers=clinic_a)
    assert victims_record.json()["given_name"] == "Zebedee"


def test_a_sealed_value_moved_to_another_field_of_the_same_client_is_refused_not_swapped(
    suite, clinic_a
):
    client_id = referred(suite, clinic_a, given_name="Quillon", family_name="Ødegård")
    with database(suite, "intake") as db:
        data = referral_data(db, client_id)
        store_referral_data(db, client_id, {**data, "family_name": data["given_name"]})

    answer = requests.get(url(suite, "intake", f"/v1/clients/{client_id}"), headers=clinic_a)

    assert_refused_cleanly(answer, "Quillon")
