"""Goals forgets an erased client when intake says so, exports what it holds, and audits reads."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Row, Table, func, select, update

from waypoint_goals.adapters import eligibility
from waypoint_goals.adapters.tables import client_goals
from waypoint_shared.db.database import read
from waypoint_shared.db.tables import data_keys, idempotency_records

from .conftest import CLIENT, GOAL, GoalsApi, Intake

ADMIN = {"role": "administrator", "id": "dpo-1"}
TITLE = "Swim across Lake Wrenfield by midsummer"


def erased(intake: Intake, client_id: str) -> None:
    intake.tells("client_erased", client_id, erased_by=ADMIN)


def database_bytes(app: Flask) -> bytes:
    var_dir = Path(app.extensions["waypoint"].engine.url.database).parent
    return b"".join(p.read_bytes() for p in sorted(var_dir.glob("goals.db*")))


def rows(app: Flask, table: Table, client_id: str) -> int:
    with read(app.extensions["waypoint"].engine) as conn:
        query = select(func.count()).select_from(table).where(table.c.client_id == client_id)
        return int(conn.execute(query).scalar_one())


def test_after_client_erased_every_goals_route_of_the_client_answers_410(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    goal = api.propose(client_id, title=TITLE).headers["Location"]
    erased(intake, client_id)

    reads = [goal, f"{goal}/history", f"/v1/clients/{client_id}/plan"]
    reads += [f"/v1/clients/{client_id}/export", f"/v1/clients/{client_id}/access-log"]
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"{goal}/agreement", {"agreed_by": CLIENT}),
        (f"{goal}/hold", {"reason": "x"}),
    ]
    answers = [api.get(path) for path in reads] + [api.post(p, b) for p, b in writes]
    answers.append(api.propose(client_id))

    for answer in answers:
        assert answer.status_code == 410, answer.get_json()
        assert answer.get_json()["client_id"] == client_id


def test_after_client_erased_fhir_answers_410_as_an_operation_outcome(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    goal_id = api.propose(client_id).get_json()["goal_id"]
    erased(intake, client_id)

    for path, query in (
        (f"/fhir/Goal/{goal_id}", {}),
        (f"/fhir/CarePlan/{client_id}", {}),
        ("/fhir/CarePlan", {"patient": f"Patient/{client_id}"}),
    ):
        answer = api.get(path, **query)
        assert answer.status_code == 410
        assert answer.content_type == "application/fhir+json"
        assert answer.get_json()["issue"][0]["code"] == "deleted"


def test_erasure_deletes_the_clients_rows_keys_and_stored_replies(
    app: Flask, api: GoalsApi, intake: Intake, client_id: str
) -> None:
    other = str(uuid.uuid4())
    intake.tells("client_referred", other)
    api.http.post(
        f"/v1/clients/{client_id}/goals",
        json={**GOAL, "title": TITLE},
        headers={**api.headers(), "Idempotency-Key": "propose-goal-000001"},
    )
    api.propose(other)
    assert TITLE.encode() not in database_bytes(app)  # the stored reply is sealed too
    with read(app.extensions["waypoint"].engine) as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 1

    erased(intake, client_id)

    assert TITLE.encode() not in database_bytes(app)
    assert [rows(app, t, client_id) for t in (client_goals, data_keys)] == [0, 0]
    with read(app.extensions["waypoint"].engine) as conn:
        assert eligibility.find(conn, "clinic-a", client_id) is None
        assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 0
    assert api.get(f"/v1/clients/{other}/plan").status_code == 200


@pytest.mark.parametrize("late", ["client_referred", "consent_granted", "client_erased"])
def test_an_event_of_an_erased_client_arriving_later_brings_nothing_back(
    app: Flask, api: GoalsApi, intake: Intake, client_id: str, late: str
) -> None:
    erased(intake, client_id)

    data = {"kind": "treatment", "document_version": "v1", "signed_by": "x", "signed_at": "x"}
    intake.tells(late, client_id, **(data if late == "consent_granted" else {}))

    with read(app.extensions["waypoint"].engine) as conn:
        assert eligibility.find(conn, "clinic-a", client_id) is None
    assert api.propose(client_id).status_code == 410


def test_an_erasure_for_another_tenant_leaves_this_tenants_client_alone(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    intake.tells("client_erased", client_id, tenant="clinic-b", erased_by=ADMIN)

    assert api.propose(client_id).status_code == 201


def test_the_export_holds_the_plan_and_every_goal_event_decrypted(
    app: Flask, api: GoalsApi, client_id: str, intake: Intake
) -> None:
    intake.tells("therapist_assigned", client_id, therapist_id=str(uuid.uuid4()))
    goal = api.propose(client_id, title=TITLE).headers["Location"]
    api.post(f"{goal}/rejection", {"rejected_by": CLIENT, "reason": "Too cold"})

    exported = api.get(f"/v1/clients/{client_id}/export").get_json()

    assert TITLE.encode() not in database_bytes(app)
    assert exported["service"] == "goals"
    assert exported["eligibility"]["therapist_id"] is not None
    assert [g["title"] for g in exported["goals"]] == [TITLE]
    assert [(e["type"], e["version"]) for e in exported["events"]] == [
        ("goal_proposed", 1),
        ("goal_rejected", 2),
    ]
    assert exported["events"][1]["data"]["reason"] == "Too cold"


def test_a_client_goals_never_heard_of_has_no_export(api: GoalsApi) -> None:
    assert api.get(f"/v1/clients/{uuid.uuid4()}/export").status_code == 404


def test_reads_of_a_goal_by_its_own_id_are_audited_under_its_client(
    api: GoalsApi, client_id: str
) -> None:
    goal = api.propose(client_id).get_json()["goal_id"]
    api.get(f"/v1/goals/{goal}")
    api.get(f"/fhir/Goal/{goal}")
    api.get(f"/v1/clients/{client_id}/plan")
    api.get("/fhir/CarePlan", patient=client_id)

    log = api.get(f"/v1/clients/{client_id}/access-log").get_json()["items"]

    assert [r["path"] for r in log] == [
        f"/v1/goals/{goal}",
        f"/fhir/Goal/{goal}",
        f"/v1/clients/{client_id}/plan",
        "/fhir/CarePlan",
    ]
    assert {r["subject"] for r in log} == {"ehr"}


def stored_replies(app: Flask) -> list[Row[Any]]:
    with read(app.extensions["waypoint"].engine) as conn:
        return list(conn.execute(select(idempotency_records)).all())


def test_erasure_deletes_the_stored_reply_of_a_planned_step(
    app: Flask, api: GoalsApi, intake: Intake, active_goal: str
) -> None:
    client_id = api.get(active_goal).get_json()["client_id"]
    headers = {**api.headers(), "Idempotency-Key": "plan-step-erased-0001"}
    step = {"description": "Swim a length of Lake Wrenfield each morning"}
    assert api.http.post(f"{active_goal}/steps", json=step, headers=headers).status_code == 201
    [reply] = stored_replies(app)
    assert reply.subject == client_id

    erased(intake, client_id)

    assert stored_replies(app) == []


def test_an_idempotency_key_is_stored_only_as_a_keyed_hash(
    app: Flask, api: GoalsApi, active_goal: str
) -> None:
    key = "plan-step-hashed-0001"
    headers = {**api.headers(), "Idempotency-Key": key}
    api.http.post(f"{active_goal}/steps", json={"description": "Wind down"}, headers=headers)

    [reply] = stored_replies(app)
    assert key.encode() not in database_bytes(app)
    assert reply.key != hashlib.sha256(key.encode()).hexdigest()  # not guessable from the key


@pytest.mark.parametrize("key", ["", "fifteen-chars-k", "x" * 256])
def test_an_idempotency_key_under_16_or_over_255_characters_is_a_422_and_nothing_is_stored(
    app: Flask, api: GoalsApi, active_goal: str, key: str
) -> None:
    headers = {**api.headers(), "Idempotency-Key": key}

    answer = api.http.post(f"{active_goal}/steps", json={"description": "x"}, headers=headers)

    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert "Idempotency-Key" in answer.get_json()["errors"]
    assert stored_replies(app) == []
    assert api.get(active_goal).get_json()["steps"] == []


def test_a_stored_reply_older_than_its_lifetime_is_not_honoured_and_is_deleted(
    app: Flask, api: GoalsApi, active_goal: str
) -> None:
    headers = {**api.headers(), "Idempotency-Key": "plan-step-expiring-01"}
    body = {"description": "Wind down"}
    api.http.post(f"{active_goal}/steps", json=body, headers=headers)
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    with app.extensions["waypoint"].engine.begin() as conn:
        conn.execute(update(idempotency_records).values(created_at=long_ago))

    again = api.http.post(f"{active_goal}/steps", json=body, headers=headers)

    assert again.status_code == 201
    assert len(api.get(active_goal).get_json()["steps"]) == 2  # a new step, not the old answer
    [reply] = stored_replies(app)  # the expired record is gone, the new one kept
    assert reply.created_at.replace(tzinfo=UTC) > long_ago + timedelta(hours=1)
