"""Referring and reading clients over HTTP: idempotent retries, ETags, unique external ids,
personal data sealed at rest, and reads as of a time."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer

REFERRAL = {
    "given_name": "Zoë",
    "family_name": "Ångström-Okafor",
    "date_of_birth": "1991-04-02",
    "email": "zoe.okafor@example.org",
    "presenting_concerns": ["panic at night"],
    "preferred_language": "de",
}


def stored(app: Flask, sql: str) -> list[Any]:
    with app.extensions["waypoint"].engine.connect() as conn:
        return list(conn.execute(text(sql)))


def event_count(app: Flask) -> int:
    return int(stored(app, "SELECT count(*) FROM events")[0][0])


def refer(
    client: FlaskClient, body: object = REFERRAL, tenant: str = "clinic-a", **headers: str
) -> TestResponse:
    return client.post("/v1/clients", json=body, headers={**bearer(tenant), **headers})


def test_a_referral_answers_201_with_location_etag_and_the_new_client(client: FlaskClient) -> None:
    response = refer(client)

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/v1/clients/{body['client_id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["version"] == 1
    assert body["status"] == "referred"
    assert body["given_name"] == "Zoë"


def test_a_referred_client_reads_back_decrypted_with_etag_1(client: FlaskClient) -> None:
    location = refer(client).headers["Location"]

    response = client.get(location, headers=bearer())

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.get_json()
    for field, value in REFERRAL.items():
        assert body[field] == value


def test_retrying_a_post_with_the_same_idempotency_key_answers_the_same_and_stores_one_event(
    app: Flask, client: FlaskClient
) -> None:
    first = refer(client, **{"Idempotency-Key": "referral-00000042"})
    retry = refer(client, **{"Idempotency-Key": "referral-00000042"})

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert event_count(app) == 1


def test_reusing_an_idempotency_key_with_a_different_body_is_a_409_problem_naming_the_key(
    app: Flask, client: FlaskClient
) -> None:
    refer(client, **{"Idempotency-Key": "referral-00000042"})

    response = refer(
        client, {**REFERRAL, "given_name": "Sam"}, **{"Idempotency-Key": "referral-00000042"}
    )

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert event_count(app) == 1


def test_an_idempotency_key_is_scoped_to_the_tenant(app: Flask, client: FlaskClient) -> None:
    ours = refer(client, tenant="clinic-a", **{"Idempotency-Key": "same-key-in-two-tenants"})
    theirs = refer(client, tenant="clinic-b", **{"Idempotency-Key": "same-key-in-two-tenants"})

    assert theirs.status_code == 201
    assert theirs.get_json()["client_id"] != ours.get_json()["client_id"]
    assert event_count(app) == 2


def test_without_an_idempotency_key_each_post_refers_a_new_client(
    app: Flask, client: FlaskClient
) -> None:
    first, second = refer(client), refer(client)

    assert first.get_json()["client_id"] != second.get_json()["client_id"]
    assert event_count(app) == 2


def test_a_second_referral_with_the_same_external_id_is_a_409_naming_the_existing_client(
    app: Flask, client: FlaskClient
) -> None:
    first = refer(client, {**REFERRAL, "external_id": "EHR-778"})

    again = refer(client, {**REFERRAL, "given_name": "Sam", "external_id": "EHR-778"})

    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["client_id"] == first.get_json()["client_id"]
    assert event_count(app) == 1


def test_the_same_external_id_may_be_used_by_another_tenant(client: FlaskClient) -> None:
    refer(client, {**REFERRAL, "external_id": "EHR-778"}, tenant="clinic-a")

    response = refer(client, {**REFERRAL, "external_id": "EHR-778"}, tenant="clinic-b")

    assert response.status_code == 201


def test_personal_fields_are_sealed_in_the_event_store_but_read_back_in_clear(
    app: Flask, client: FlaskClient
) -> None:
    location = refer(client, {**REFERRAL, "external_id": "EHR-778"}).headers["Location"]

    [(raw,)] = stored(app, "SELECT data FROM events")

    for plaintext in ("Zoë", "Ångström", "zoe.okafor@example.org", "1991-04-02", "EHR-778"):
        assert plaintext not in raw
        assert json.dumps(plaintext).strip('"') not in raw
    data = json.loads(raw)
    for field in ("given_name", "family_name", "email", "date_of_birth", "external_id"):
        assert data[field].startswith("enc:v2:")
    assert data["preferred_language"] == "de"
    body = client.get(location, headers=bearer()).get_json()
    assert (body["given_name"], body["email"], body["date_of_birth"]) == (
        "Zoë",
        "zoe.okafor@example.org",
        "1991-04-02",
    )


def test_the_external_id_is_kept_only_as_a_keyed_hash(app: Flask, client: FlaskClient) -> None:
    refer(client, {**REFERRAL, "external_id": "EHR-778"})

    [(digest,)] = stored(app, "SELECT external_id_hash FROM external_ids")

    assert "EHR-778" not in digest


def test_reading_as_of_a_time_before_the_referral_is_a_404(client: FlaskClient) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    location = refer(client).headers["Location"]

    then = client.get(location, query_string={"as_of": before.isoformat()}, headers=bearer())
    now = client.get(
        location, query_string={"as_of": datetime.now(UTC).isoformat()}, headers=bearer()
    )

    assert then.status_code == 404
    assert then.mimetype == "application/problem+json"
    assert now.status_code == 200


def test_as_of_without_a_time_zone_is_a_422(client: FlaskClient) -> None:
    location = refer(client).headers["Location"]

    response = client.get(location, query_string={"as_of": "2025-01-01T00:00:00"}, headers=bearer())

    assert response.status_code == 422
    assert "as_of" in response.get_json()["errors"]


def test_an_unknown_client_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get(f"/v1/clients/{uuid.uuid4()}", headers=bearer())

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_referral_event_records_who_made_it(app: Flask, client: FlaskClient) -> None:
    refer(client, **{"X-Request-ID": "req-77"})

    [(raw,)] = stored(app, "SELECT metadata FROM events")

    metadata = json.loads(raw)
    assert metadata["actor"]["system"] == "ehr"
    assert metadata["correlation_id"] == "req-77"
