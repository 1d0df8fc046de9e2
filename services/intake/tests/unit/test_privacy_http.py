"""Intake's privacy: erasure by crypto-shredding, subject-access export, and the audit of reads."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from waypoint_devkit.apps import bearer
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.db.database import read
from waypoint_shared.db.tables import idempotency_records
from waypoint_shared.http.auth import mint_token

from .conftest import CLINICIAN, TREATMENT, Driver

PROBLEM_JSON = "application/problem+json"
ADMIN = {"role": "administrator", "id": "dpo-1"}
ERASURE: dict[str, Any] = {"reason": "The client asked us to forget them", "recorded_by": ADMIN}
DISTINCT = {
    "given_name": "Quillon",
    "family_name": "Ødegård-Wrenfield",
    "date_of_birth": "1979-04-17",
    "email": "quillon.wrenfield@example.net",
    "phone": "+44 7700 900417",
    "presenting_concerns": ["nightmares about the lighthouse"],
}


def erase(intake: Driver, client_id: str, status: int = 200) -> Any:
    return intake.step(client_id, "POST", "/erasure", ERASURE, status)


def database_bytes(intake: Driver) -> bytes:
    """The database file and its -wal and -shm files, as bytes."""
    var_dir = Path(intake.app.extensions["waypoint"].engine.url.database).parent
    return b"".join(p.read_bytes() for p in sorted(var_dir.glob("intake.db*")))


def client_routes(intake: Driver, client_id: str) -> list[tuple[str, str]]:
    """Every (method, path) of intake's API that names a client in its path."""
    found: list[tuple[str, str]] = []
    for rule in intake.app.url_map.iter_rules():
        if "client_id" not in rule.arguments:
            continue
        path = re.sub(r"<any\([^)]*\):kind>", "treatment", rule.rule)
        path = path.replace("<uuid:client_id>", client_id)
        found += [(m, path) for m in sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})]
    return found


def test_after_erasure_every_route_about_the_client_answers_410(intake: Driver) -> None:
    client_id = intake.ready_for_completion()
    erase(intake, client_id)

    routes = client_routes(intake, client_id)

    assert len(routes) >= 15
    for method, path in routes:
        response = intake.call(method, path, {"recorded_by": CLINICIAN})
        assert response.status_code == 410, (method, path, response.get_json())
        fhir = path.startswith("/fhir")
        assert response.content_type == ("application/fhir+json" if fhir else PROBLEM_JSON)


@pytest.mark.parametrize("resource", ["Consent", "QuestionnaireResponse", "Observation"])
def test_after_erasure_fhir_answers_410_as_an_operation_outcome(
    intake: Driver, resource: str
) -> None:
    client_id = intake.ready_for_completion()
    erase(intake, client_id)

    for response in (
        intake.get(f"/fhir/{resource}", patient=f"Patient/{client_id}"),
        intake.get(f"/fhir/Patient/{client_id}"),
    ):
        assert response.status_code == 410
        assert response.content_type == "application/fhir+json"
        assert response.get_json()["issue"][0]["code"] == "deleted"


def test_an_erased_client_leaves_the_list_and_frees_the_external_id(intake: Driver) -> None:
    client_id = intake.refer(external_id="EHR-77")
    erase(intake, client_id)

    assert intake.get("/v1/clients").get_json()["items"] == []
    assert intake.get("/v1/clients", external_id="EHR-77").get_json()["items"] == []
    assert intake.refer(external_id="EHR-77") != client_id


def test_erasure_frees_the_place_the_client_held_with_their_therapist(intake: Driver) -> None:
    therapist = intake.register(capacity=1)
    client_id = intake.refer()
    intake.assign(client_id, therapist)

    erase(intake, client_id)

    assert intake.get(f"/v1/therapists/{therapist}").get_json()["caseload"] == 0
    intake.assign(intake.refer(), therapist)


def test_erasure_needs_the_admin_scope(intake: Driver) -> None:
    client_id = intake.refer()
    headers = bearer(scopes="intake:read intake:write")

    refused = intake.http.post(f"/v1/clients/{client_id}/erasure", json=ERASURE, headers=headers)

    assert refused.status_code == 403
    assert intake.get(f"/v1/clients/{client_id}").status_code == 200


def test_another_tenants_client_cannot_be_erased_and_stays_a_404_for_them(intake: Driver) -> None:
    client_id = intake.refer()
    other = Driver(intake.app, intake.http, tenant="clinic-b")

    assert other.call("POST", f"/v1/clients/{client_id}/erasure", ERASURE).status_code == 404
    erase(intake, client_id)
    assert other.get(f"/v1/clients/{client_id}").status_code == 404


def test_the_erasure_event_names_who_erased_and_keeps_no_reason(intake: Driver) -> None:
    client_id = intake.refer()
    erase(intake, client_id)

    [erased] = [e for e in intake.stored_events(client_id) if e["type"].endswith("erased.v1")]

    assert erased["data"] == {"client_id": client_id, "erased_by": ADMIN}
    assert erased["metadata"]["actor"]["person"] == ADMIN
    assert ERASURE["reason"].encode() not in database_bytes(intake)


def test_erasure_leaves_no_personal_value_in_the_database_files_wal_included(
    intake: Driver,
) -> None:
    client_id = intake.refer(**DISTINCT)
    intake.step(client_id, "POST", "/consents", {**TREATMENT, "signed_by": "Quillon Ø."})
    # the stored reply quotes the client, sealed
    retried = {"Idempotency-Key": "refer-again-0000001"}
    intake.call("POST", "/v1/clients", {**DISTINCT, "external_id": "EHR-Q"}, **retried)
    other = intake.call("POST", "/v1/clients", {**DISTINCT, "external_id": "EHR-Q"}, **retried)
    assert client_id.encode() in database_bytes(intake)  # the search reads what is there
    assert b"Quillon" not in database_bytes(intake)  # and personal values are sealed already

    erase(intake, client_id)
    erase(intake, other.get_json()["client_id"])

    stored = database_bytes(intake)
    for value in ("Quillon", "Wrenfield", "1979-04-17", "example.net", "900417", "lighthouse"):
        assert value.encode() not in stored, value
    assert "Ødegård".encode() not in stored


def test_a_referral_is_kept_sealed_while_the_export_shows_it_decrypted(intake: Driver) -> None:
    client_id = intake.refer(**DISTINCT)

    exported = intake.get(f"/v1/clients/{client_id}/export").get_json()

    assert b"Quillon" not in database_bytes(intake)
    assert exported["service"] == "intake"
    assert exported["client"]["given_name"] == "Quillon"
    assert exported["events"][0]["type"] == "client_referred"
    assert exported["events"][0]["data"]["email"] == DISTINCT["email"]


def test_the_export_holds_every_event_of_the_record_and_the_reads_so_far(intake: Driver) -> None:
    client_id = intake.ready_for_completion()
    intake.get(f"/v1/clients/{client_id}")

    exported = intake.get(f"/v1/clients/{client_id}/export").get_json()

    assert [e["version"] for e in exported["events"]] == list(range(1, 6))
    assert exported["client"]["missing_requirements"] == []
    assert [r["path"] for r in exported["access_log"]] == [f"/v1/clients/{client_id}"]


def read_as(intake: Driver, subject: str, path: str) -> str:
    """Read as a caller who sends their own X-Request-ID; the service's request id comes back."""
    token = mint_token(DEVELOPMENT_SECRET, subject, "clinic-a", "intake:read")
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": f"req-{subject}"}
    answer = intake.http.get(path, headers=headers)
    assert answer.status_code == 200
    return str(answer.headers["X-Request-ID"])


def test_the_access_log_lists_each_read_in_order_with_the_caller_and_no_query(
    intake: Driver,
) -> None:
    client_id = intake.refer(external_id="EHR-Q9")
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [
        read_as(intake, "ehr-a", f"/v1/clients/{client_id}?as_of={soon}"),
        read_as(intake, "portal-b", "/v1/clients?external_id=EHR-Q9"),
        read_as(intake, "fhir-c", f"/fhir/Patient/{client_id}"),
        read_as(intake, "ehr-a", f"/v1/clients/{client_id}/history"),
    ]

    log = intake.get(f"/v1/clients/{client_id}/access-log").get_json()

    assert [(r["subject"], r["method"], r["path"], r["request_id"]) for r in log["items"]] == [
        ("ehr-a", "GET", f"/v1/clients/{client_id}", ids[0]),
        ("portal-b", "GET", "/v1/clients", ids[1]),
        ("fhir-c", "GET", f"/fhir/Patient/{client_id}", ids[2]),
        ("ehr-a", "GET", f"/v1/clients/{client_id}/history", ids[3]),
    ]
    assert not {f"req-{s}" for s in ("ehr-a", "portal-b", "fhir-c")} & set(ids)
    assert {r["tenant"] for r in log["items"]} == {"clinic-a"}
    assert "EHR-Q9" not in json.dumps(log)


def test_writes_and_refused_reads_are_not_in_the_access_log(intake: Driver) -> None:
    client_id = intake.refer()
    intake.step(client_id, "POST", "/consents", TREATMENT)
    intake.get(f"/v1/clients/{client_id}", as_of="not a time")

    assert intake.get(f"/v1/clients/{client_id}/access-log").get_json()["items"] == []


def test_the_access_log_pages_and_is_only_for_admins(intake: Driver) -> None:
    client_id = intake.refer()
    for _ in range(3):
        intake.get(f"/v1/clients/{client_id}")

    first = intake.get(f"/v1/clients/{client_id}/access-log", limit=2).get_json()
    rest = intake.get(
        f"/v1/clients/{client_id}/access-log", cursor=first["next_cursor"], limit=2
    ).get_json()
    refused = intake.http.get(
        f"/v1/clients/{client_id}/access-log", headers=bearer(scopes="intake:read")
    )

    assert len(first["items"]) == 2 and len(rest["items"]) == 2  # the third GET was the first log
    assert rest["next_cursor"] is None
    assert refused.status_code == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_the_access_log_cannot_be_changed_through_the_api(intake: Driver, method: str) -> None:
    client_id = intake.refer()
    intake.get(f"/v1/clients/{client_id}")

    response = intake.call(method, f"/v1/clients/{client_id}/access-log", {"items": []})

    assert response.status_code == 405
    assert response.content_type == PROBLEM_JSON
    assert len(intake.get(f"/v1/clients/{client_id}/access-log").get_json()["items"]) == 1


def test_the_access_log_of_another_tenants_client_is_empty(intake: Driver) -> None:
    client_id = intake.refer()
    intake.get(f"/v1/clients/{client_id}")
    other = Driver(intake.app, intake.http, tenant="clinic-b")

    assert other.get(f"/v1/clients/{client_id}/access-log").get_json()["items"] == []


def test_a_client_id_that_is_not_a_uuid_in_a_fhir_search_is_a_400_not_an_audit(
    intake: Driver,
) -> None:
    assert intake.get("/fhir/Consent", patient=str(uuid.uuid4())[:8]).status_code == 400


def test_erasure_deletes_the_stored_reply_of_a_consent(intake: Driver) -> None:
    client_id = intake.refer()
    once = {"Idempotency-Key": "grant-consent-000001"}
    consent = {**TREATMENT, "signed_by": "Quillon Ø."}
    path = f"/v1/clients/{client_id}/consents"
    assert intake.call("POST", path, consent, **once).status_code == 200
    with read(intake.app.extensions["waypoint"].engine) as conn:
        [reply] = conn.execute(select(idempotency_records)).all()
    assert reply.subject == client_id

    erase(intake, client_id)

    with read(intake.app.extensions["waypoint"].engine) as conn:
        assert conn.execute(select(idempotency_records)).all() == []


def move_given_name(intake: Driver, source: str, target: str, field: str = "given_name") -> None:
    """Write access to the database: the referral of `target` gets `source`'s sealed name."""
    engine = intake.app.extensions["waypoint"].engine
    [referral] = [e for e in intake.stored_events(source) if "referred" in e["type"]]
    [theirs] = [e for e in intake.stored_events(target) if "referred" in e["type"]]
    data = {**theirs["data"], field: referral["data"]["given_name"]}
    sql = "UPDATE events SET data = :data WHERE stream_id = :stream AND type LIKE '%referred%'"
    with engine.begin() as conn:
        conn.execute(text(sql), {"data": json.dumps(data), "stream": target})


@pytest.mark.parametrize("path", ["", "/history", "/export"])
def test_a_sealed_value_moved_into_another_clients_record_answers_409_never_their_data(
    intake: Driver, path: str
) -> None:
    victim, target = intake.refer(given_name="Zebedee"), intake.refer(given_name="Robin")
    move_given_name(intake, victim, target)

    answer = intake.get(f"/v1/clients/{target}{path}")

    assert answer.status_code == 409, answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["title"] == "Record unreadable"
    assert "Zebedee" not in answer.get_data(as_text=True)
    assert intake.get(f"/v1/clients/{victim}").get_json()["given_name"] == "Zebedee"


def test_a_sealed_value_moved_to_another_field_of_the_same_record_is_not_shown_there(
    intake: Driver,
) -> None:
    client_id = intake.refer(given_name="Zebedee", family_name="Okafor")
    move_given_name(intake, client_id, client_id, field="family_name")

    answer = intake.get(f"/v1/clients/{client_id}")

    assert answer.status_code == 409
    assert "Zebedee" not in answer.get_data(as_text=True)
    write = intake.call("POST", f"/v1/clients/{client_id}/consents", TREATMENT)
    assert write.status_code == 409  # nothing is built on a record that does not open
