"""Real resources made before fuzzing, so requests reach past "404 not found" into the rules.

Each seed returns the path parameters of what it made; the fuzzer sends them as well as random
ones. Intake's and goals' events are fed to the consumers' handlers as their workers would.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

from waypoint_devkit.apps import envelope
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.messaging.envelope import Envelope, decode, encode

CLINICIAN = {"role": "clinician", "id": "clin-1"}
THERAPIST = {"role": "therapist", "id": "t-1"}
CLIENT = {"role": "client", "id": "c-1"}
SIGNED = {
    "document_version": "2026-01",
    "signed_by": "A. Client",
    "signed_at": "2026-01-05T10:00:00+00:00",
    "recorded_by": CLINICIAN,
}


def ok(app: Flask, headers: dict[str, str], method: str, path: str, body: Any) -> Any:
    response = app.test_client().open(path, method=method, json=body, headers=headers)
    assert response.status_code in (200, 201), f"seeding {method} {path}: {response.get_json()}"
    return response.get_json()


def intake(app: Flask, headers: dict[str, str]) -> dict[str, str]:
    """A referred client with both consents and a baseline, and a therapist on the roster."""
    therapist = ok(
        app,
        headers,
        "POST",
        "/v1/therapists",
        {
            "name": "Dr Seed",
            "languages": ["en"],
            "modalities": ["cbt"],
            "capacity": 3,
            "recorded_by": CLINICIAN,
        },
    )["therapist_id"]
    referral = {"given_name": "A", "family_name": "Client", "date_of_birth": "1990-01-01"}
    client = ok(app, headers, "POST", "/v1/clients", referral)["client_id"]
    path = f"/v1/clients/{client}"
    ok(app, headers, "POST", f"{path}/consents", {"kind": "treatment", **SIGNED})
    consent = {"kind": "confidentiality", "limits_acknowledged": True, **SIGNED}
    ok(app, headers, "POST", f"{path}/consents", consent)
    screening = {"instrument": "PHQ-9", "items": [1] * 9, "recorded_by": CLINICIAN}
    ok(app, headers, "POST", f"{path}/screenings", screening)
    return {"client_id": client, "therapist_id": therapist, "kind": "treatment"}


def referral(client: str, tenant: str) -> Envelope:
    """Intake's `client_referred` of a client, as a consumer receives it (its newest version)."""
    return envelope("intake", "client_referred", client, tenant)


def goals(app: Flask, headers: dict[str, str], tenant: str) -> dict[str, str]:
    """A client intake referred, with an agreed goal that has one planned step and a
    staying-well plan."""
    from waypoint_goals.service_layer import projector

    client = str(uuid.uuid4())
    referred = referral(client, tenant)
    engine = app.extensions["waypoint"].engine
    run_in_transaction(engine, lambda conn: projector.handle(conn, referred))
    body = {"title": "Walk daily", "modality": "act", "priority": "low", "proposed_by": THERAPIST}
    goal = ok(app, headers, "POST", f"/v1/clients/{client}/goals", body)["goal_id"]
    ok(app, headers, "POST", f"/v1/goals/{goal}/agreement", {"agreed_by": CLIENT})
    step = ok(app, headers, "POST", f"/v1/goals/{goal}/steps", {"description": "Shoes on"})
    plan = {
        "warning_signs": ["Staying in"],
        "what_helps": ["A walk"],
        "who_to_contact": [{"name": "A friend"}],
        "agreed_by": [CLIENT, THERAPIST],
    }
    ok(app, headers, "PUT", f"/v1/clients/{client}/staying-well-plan", plan)
    return {"client_id": client, "goal_id": goal, "step_id": step["step_id"]}


def progress(app: Flask, headers: dict[str, str], tenant: str) -> dict[str, str]:
    """A client intake referred, with a session that raised alerts, projected into the
    timeline; a webhook subscription with the session's delivery."""
    client = str(uuid.uuid4())
    container = app.extensions["waypoint"]
    hook = {"url": "http://127.0.0.1:9/hooks", "event_types": ["session_recorded"]}
    subscription = ok(app, headers, "POST", "/v1/webhook-subscriptions", hook)["id"]
    referred = referral(client, tenant)
    run_in_transaction(container.engine, lambda c: container.projector.handle(c, referred))
    session = {
        "date": "2026-01-10",
        "attended": True,
        "reflection": "A better week",
        "measures": [
            {"instrument": "PHQ-9", "items": [2, 2, 2, 2, 2, 2, 2, 2, 1]},
            {"instrument": "SRS", "items": [5.0, 5.5, 6.0, 6.5]},
        ],
    }
    made = ok(app, headers, "POST", f"/v1/clients/{client}/sessions", session)
    with read(container.engine) as conn:
        stored = container.store.read_after(conn, 0, 100)
    projector, hooks = container.projector, container.webhooks
    for event in stored:
        projected = decode(encode(event, "progress")[1])
        run_in_transaction(container.engine, lambda c, e=projected: projector.handle(c, e))
    with read(container.engine) as conn:
        mine = [e for e in container.store.read_after(conn, 0, 10**6) if e.client_id == client]
    sent = [decode(encode(event, "progress")[1]) for event in mine]
    run_in_transaction(container.engine, lambda c: hooks.record(c, sent))
    path = f"/v1/webhook-subscriptions/{subscription}/deliveries"
    [delivery] = app.test_client().get(path, headers=headers).get_json()["items"]
    return {
        "client_id": client,
        "session_id": made["session_id"],
        "alert_id": made["alerts"][0]["alert_id"],
        "subscription_id": subscription,
        "delivery_id": delivery["id"],
    }
