"""Webhook subscriptions over HTTP: the secret shown once, scope `webhooks:write` or `admin`,
bound to the caller's tenant, rotation, deliveries and a retry, receivers refused by the rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from waypoint_devkit.apps import bearer, envelope
from waypoint_progress.adapters import webhook_store as store
from waypoint_progress.config import webhook_settings
from waypoint_progress.domain.webhooks import ReceiverRefused
from waypoint_progress.service_layer.webhooks import Webhooks
from waypoint_shared.config import load_settings
from waypoint_shared.crypto.sealing import MasterKey
from waypoint_shared.db.database import run_in_transaction

HOOKS = "/v1/webhook-subscriptions"
RECEIVER = {"url": "http://127.0.0.1:9/hooks", "event_types": ["milestone_reached"]}
WRITER = bearer(scopes="webhooks:write")


def create(client: FlaskClient, headers: dict[str, str] = WRITER, **body: Any) -> Any:
    response = client.post(HOOKS, json={**RECEIVER, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def test_a_subscription_is_created_with_its_secret_shown_once(client: FlaskClient) -> None:
    created = create(client, description="Clinic portal")
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["status"] == "active"
    assert created.headers["Location"].endswith(f"{HOOKS}/{body['id']}")
    read = client.get(f"{HOOKS}/{body['id']}", headers=WRITER).get_json()
    assert "secret" not in read
    assert read == {k: v for k, v in body.items() if k != "secret"}
    listed = client.get(HOOKS, headers=WRITER).get_json()
    assert listed == {"items": [read], "next_cursor": None}


@pytest.mark.parametrize(
    ("scopes", "status"),
    [("webhooks:write", 201), ("admin", 201), ("progress:write progress:read", 403)],
    ids=["webhooks:write may", "admin may", "progress scopes may not"],
)
def test_subscribing_needs_webhooks_write_or_admin(
    client: FlaskClient, scopes: str, status: int
) -> None:
    response = client.post(HOOKS, json=RECEIVER, headers=bearer(scopes=scopes))
    assert response.status_code == status


def test_another_tenants_subscription_is_answered_as_one_that_does_not_exist(
    client: FlaskClient,
) -> None:
    theirs = create(client).get_json()["id"]
    other = bearer(tenant="clinic-b", scopes="webhooks:write")
    unknown = str(uuid.uuid4())
    for path in (theirs, unknown):
        calls = [
            client.get(f"{HOOKS}/{path}", headers=other),
            client.get(f"{HOOKS}/{path}/deliveries", headers=other),
            client.post(f"{HOOKS}/{path}/secret-rotation", json={}, headers=other),
            client.post(f"{HOOKS}/{path}/reactivation", json={}, headers=other),
            client.delete(f"{HOOKS}/{path}", headers=other),
        ]
        assert [c.status_code for c in calls] == [404] * 5
        assert {c.get_json()["detail"] for c in calls} == {f"No webhook subscription {path}."}
    assert client.get(HOOKS, headers=other).get_json()["items"] == []
    assert client.get(f"{HOOKS}/{theirs}", headers=WRITER).status_code == 200


def test_a_rotation_shows_a_new_secret_and_the_old_one_signs_24_hours_more(
    client: FlaskClient,
) -> None:
    first = create(client).get_json()
    rotated = client.post(f"{HOOKS}/{first['id']}/secret-rotation", json={}, headers=WRITER)
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert body["secret"].startswith("whsec_") and body["secret"] != first["secret"]
    until = datetime.fromisoformat(body["previous_secret_expires_at"])
    assert abs(until - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)


def test_a_deleted_subscription_is_gone(client: FlaskClient) -> None:
    subscription = create(client).get_json()["id"]
    assert client.delete(f"{HOOKS}/{subscription}", headers=WRITER).status_code == 204
    assert client.get(f"{HOOKS}/{subscription}", headers=WRITER).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_types": ["goal_achieved"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"url": "ftp://example.org/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"secret": "mine"}, "secret"),
    ],
    ids=[
        "an event type webhooks do not carry",
        "no event type",
        "a scheme other than https",
        "the cloud metadata address",
        "a field the resource does not have",
    ],
)
def test_an_invalid_subscription_is_refused_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = client.post(HOOKS, json={**RECEIVER, **body}, headers=WRITER)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    "url",
    ["http://hooks.clinic.example/in", "https://127.0.0.1/in", "https://10.0.0.7/in"],
    ids=["http", "a loopback address", "a private address"],
)
def test_in_production_only_https_to_a_public_address_is_accepted(url: str, tmp_path: Any) -> None:
    settings = load_settings("progress", {"WAYPOINT_VAR_DIR": str(tmp_path)})
    hooks = Webhooks(MasterKey(settings.master_key), webhook_settings(settings))
    with pytest.raises(ReceiverRefused):
        hooks.check_receiver(url)


def test_deliveries_list_each_attempt_and_one_can_be_sent_again(
    app: Flask, client: FlaskClient
) -> None:
    subscription = create(client).get_json()["id"]
    event = envelope(
        "progress",
        "milestone_reached",
        str(uuid.uuid4()),
        milestone_id=str(uuid.uuid4()),
        rule="journey_started",
        title="Journey started",
        reached_at=datetime.now(UTC).isoformat(),
        source_service="intake",
        source_event_id=str(uuid.uuid4()),
    )
    hooks = app.extensions["waypoint"].webhooks
    run_in_transaction(app.extensions["waypoint"].engine, lambda c: hooks.record(c, [event]))

    page = client.get(f"{HOOKS}/{subscription}/deliveries", headers=WRITER).get_json()
    [delivery] = page["items"]
    assert delivery["event_id"] == event.event_id and delivery["status"] == "pending"
    assert delivery["attempts"] == [] and delivery["id"].startswith("msg_")
    retry = f"{HOOKS}/{subscription}/deliveries/{delivery['id']}/retry"
    assert client.post(retry, json={}, headers=WRITER).status_code == 200
    missing = client.post(f"{HOOKS}/{subscription}/deliveries/msg_0/retry", json={}, headers=WRITER)
    assert missing.status_code == 404


def test_a_disabled_subscription_is_made_active_again_and_an_active_one_stays_as_it_is(
    app: Flask, client: FlaskClient
) -> None:
    subscription = create(client).get_json()["id"]
    engine = app.extensions["waypoint"].engine
    reactivation = f"{HOOKS}/{subscription}/reactivation"
    unchanged = client.post(reactivation, json={}, headers=WRITER)
    run_in_transaction(
        engine,
        lambda c: store.change_subscription(
            c,
            subscription,
            status="disabled",
            disabled_reason="Every delivery failed",
            disabled_at=datetime.now(UTC),
            failing_since=datetime.now(UTC) - timedelta(days=3),
        ),
    )
    disabled = client.get(f"{HOOKS}/{subscription}", headers=WRITER).get_json()

    active = client.post(reactivation, json={}, headers=WRITER)

    assert unchanged.status_code == 200 and unchanged.get_json()["status"] == "active"
    assert disabled["status"] == "disabled" and disabled["disabled_at"]
    assert active.status_code == 200
    assert active.get_json() == {
        **disabled,
        "status": "active",
        "disabled_reason": None,
        "disabled_at": None,
    }
    assert client.get(f"{HOOKS}/{subscription}", headers=WRITER).get_json() == active.get_json()
    other = bearer(tenant="clinic-b", scopes="webhooks:write")
    assert client.post(reactivation, json={}, headers=other).status_code == 404


def test_subscriptions_are_listed_in_pages(client: FlaskClient) -> None:
    made = sorted(create(client).get_json()["id"] for _ in range(3))
    first = client.get(f"{HOOKS}?limit=2", headers=WRITER).get_json()
    assert [s["id"] for s in first["items"]] == made[:2]
    rest = client.get(f"{HOOKS}?limit=2&cursor={first['next_cursor']}", headers=WRITER).get_json()
    assert [s["id"] for s in rest["items"]] == made[2:] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("If-Match", "is1Whv@2rW", 400),
        ("If-Match", "", 400),
        ("Idempotency-Key", "short", 422),
    ],
    ids=["an If-Match not an ETag", "an empty If-Match", "a short key"],
)
def test_a_malformed_write_header_is_refused_as_the_document_states(
    client: FlaskClient, header: str, value: str, status: int
) -> None:
    subscription = create(client).get_json()["id"]
    headers = {**WRITER, header: value}

    deleted = client.delete(f"{HOOKS}/{subscription}", headers=headers)
    rotated = client.post(f"{HOOKS}/{subscription}/secret-rotation", json={}, headers=headers)

    assert (deleted.status_code, rotated.status_code) == (status, status)
    assert deleted.headers["Content-Type"] == "application/problem+json"
    assert client.get(f"{HOOKS}/{subscription}", headers=WRITER).status_code == 200


def test_a_well_formed_if_match_is_not_compared_a_subscription_has_no_version(
    client: FlaskClient,
) -> None:
    subscription = create(client).get_json()["id"]

    deleted = client.delete(f"{HOOKS}/{subscription}", headers={**WRITER, "If-Match": '"7"'})

    assert deleted.status_code == 204
