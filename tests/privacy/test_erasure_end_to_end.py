"""Issue 7's acceptance: a client's whole journey through the three real services, then erasure.

Afterwards every service answers 410 for the client; a byte search of every database file (WAL
included), of every Kafka topic read from offset 0 (dead letters included), of the broker's log
directory and of every process log finds none of the client's personal values, in UTF-8 or as
JSON `\\u` escapes; a timeline rebuild does not bring the client back. A second client with the
same kind of values is the positive control: found decrypted through the export APIs, found in
plain bytes nowhere, and untouched by the erasure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from kafka import TopicPartition

from waypoint_devkit.suite import rebuild_timeline, running_suite, url_of
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import KafkaSettings
from waypoint_shared.messaging.kafka_clients import group_consumer

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(420)]
THERAPIST = {"role": "therapist", "id": "t-1"}
CLIENT = {"role": "client", "id": "c-1"}
ADMIN = {"role": "administrator", "id": "dpo-1"}


def person(given: str, family: str, born: str, tag: str, place: str) -> dict[str, Any]:
    """Distinctive values for every personal field the journey sends (tag makes each unique)."""
    return {
        "referral": {
            "given_name": given,
            "family_name": family,
            "preferred_name": f"{given[:4]}{tag}",
            "date_of_birth": born,
            "email": f"{tag.lower()}.{family.split('-')[0].lower()}@example.org",
            "phone": f"+44 7700 9{tag[-5:]}",
            "external_id": f"EXT-{tag}",
            "presenting_concerns": [f"dreams of drowning in {place}", f"静かな{place}の不安"],
        },
        "background": f"raised on a trawler off {place} {tag}",
        "signed_by": f"{given} {family}",
        "notes": f"prefers calls after the {place} ferry {tag}",
        "title": f"Swim across {place} without panic {tag}",
        "why": f"so {given} can teach her nephew {tag}",
        "steps": [f"Walk the {place} shoreline {tag}", f"Float in {place} shallows {tag}"],
        "step_note": f"the {place} water felt warm {tag}",
        "check_in_note": f"{place} felt closer today {tag}",
        "revision": f"{given} wants a calmer aim {tag}",
        "reflection": f"I told my sister about {place} {tag}",
    }


ERASED = person("Zéphyrine", "Quarrington-Ødegaard", "1983-02-19", "ZQ48213", "Loch Ochrewater")
KEPT = person("Bartholomäus", "Vintergaard-Łukasz", "1978-08-04", "BV99174", "Kestrel Mere")


def searched(values: dict[str, Any]) -> list[str]:
    """Every personal string sent for a client."""
    found: list[str] = []
    for value in values.values():
        if isinstance(value, dict):
            found += searched(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
        else:
            found.append(value)
    return found


def forms(value: str) -> list[bytes]:
    """A value as UTF-8 bytes and as it reads in JSON with non-ASCII escaped (`\\u00e9`)."""
    return list(dict.fromkeys([value.encode(), json.dumps(value)[1:-1].encode()]))


class Api:
    def __init__(self, suite: Any, token: str):
        self.suite, self.headers = suite, {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        url = url_of(self.suite, f"{service}-web") + path
        return requests.request(method, url, headers=headers, timeout=10, **kw)

    def ok(self, method: str, service: str, path: str, **kw: Any) -> Any:
        response = self.call(method, service, path, **kw)
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response.json()


@pytest.fixture
def suite(tmp_path: Path, own_kafka: Any) -> Iterator[Any]:
    kafka = KafkaSettings(bootstrap_servers=own_kafka.bootstrap, topic_prefix="privacy.")
    with running_suite(tmp_path / "var", kafka) as running:
        running.var_dir, running.kafka, running.broker = tmp_path / "var", kafka, own_kafka
        yield running


@pytest.fixture
def api(suite: Any, token: Callable[..., str]) -> Api:
    return Api(suite, token())


def journey(api: Api, values: dict[str, Any], therapist: str, idempotent: bool) -> str:
    """Intake, goals and progress with every kind of personal value; returns the client id.
    With idempotent, the writes carry an Idempotency-Key, so their replies are stored too."""

    def once(key: str) -> dict[str, str]:
        return {"Idempotency-Key": f"privacy-journey-{key}"} if idempotent else {}

    referral = values["referral"]
    client = api.ok("POST", "intake", "/v1/clients", json=referral, headers=once("refer"))
    path = f"/v1/clients/{client['client_id']}"
    context = {"background": values["background"], "recorded_by": THERAPIST}
    api.ok("PUT", "intake", f"{path}/cultural-context", json=context)
    signed = {"document_version": "v1", "signed_by": values["signed_by"], "recorded_by": CLIENT}
    signed["signed_at"] = datetime.now(UTC).isoformat()
    api.ok("POST", "intake", f"{path}/consents", json={"kind": "treatment", **signed})
    confidentiality = {"kind": "confidentiality", "limits_acknowledged": True, **signed}
    api.ok("POST", "intake", f"{path}/consents", json=confidentiality)
    notes = {"topics": ["cancellation"], "acknowledged_by": CLIENT, "notes": values["notes"]}
    api.ok("POST", "intake", f"{path}/expectations", json=notes)
    screening = {"instrument": "PHQ-9", "items": [2] * 8 + [0], "recorded_by": THERAPIST}
    api.ok("POST", "intake", f"{path}/screenings", json=screening)
    assignment = {"therapist_id": therapist, "recorded_by": THERAPIST}
    api.ok("PUT", "intake", f"{path}/therapist", json=assignment)
    api.ok("POST", "intake", f"{path}/completion", json={"recorded_by": THERAPIST})
    api.ok("GET", "intake", "/v1/clients", params={"external_id": referral["external_id"]})
    goal_id = set_goal(api, client["client_id"], values)
    api.ok("GET", "goals", f"/v1/goals/{goal_id}")
    session = {"date": date.today().isoformat(), "attended": True}
    session["reflection"] = values["reflection"]
    record_session(api, path, session, once("session"))
    return str(client["client_id"])


def record_session(api: Api, path: str, session: dict[str, Any], headers: dict) -> None:
    """Progress takes the session once the referral has reached it (409 until then)."""

    def recorded() -> bool:
        response = api.call("POST", "progress", f"{path}/sessions", json=session, headers=headers)
        assert response.status_code in (201, 409), response.text
        return response.status_code == 201

    wait_until(recorded, timeout=30, what="progress to know the client")


def set_goal(api: Api, client_id: str, values: dict[str, Any]) -> str:
    proposal = {
        "title": values["title"],
        "why_it_matters": values["why"],
        "modality": "cbt",
        "priority": "high",
        "proposed_by": THERAPIST,
    }

    def propose() -> Any:
        response = api.call("POST", "goals", f"/v1/clients/{client_id}/goals", json=proposal)
        return response.json() if response.status_code == 201 else None

    goal = wait_until(propose, timeout=30, what="goals to know the client")["goal_id"]
    api.ok("POST", "goals", f"/v1/goals/{goal}/agreement", json={"agreed_by": CLIENT})
    steps = [
        api.ok("POST", "goals", f"/v1/goals/{goal}/steps", json={"description": d})["step_id"]
        for d in values["steps"]
    ]
    note = {"note": values["step_note"]}
    api.ok("POST", "goals", f"/v1/goals/{goal}/steps/{steps[0]}/completion", json=note)
    check_in = {"rating": 6, "by": CLIENT, "note": values["check_in_note"]}
    api.ok("POST", "goals", f"/v1/goals/{goal}/check-ins", json=check_in)
    revision = {"reason": values["revision"], "changes": {"priority": "medium"}}
    api.ok("PATCH", "goals", f"/v1/goals/{goal}", json=revision)
    return str(goal)


def timeline(api: Api, client_id: str) -> list[dict[str, Any]]:
    response = api.call("GET", "progress", f"/v1/clients/{client_id}/timeline?limit=200")
    return response.json()["items"] if response.ok else []


def client_reads(client_id: str) -> list[tuple[str, str]]:
    """A read of the client's data on every service, FHIR included."""
    base = f"/v1/clients/{client_id}"
    return [
        ("intake", base),
        ("intake", f"/fhir/Patient/{client_id}"),
        ("intake", f"/fhir/Consent?patient={client_id}"),
        ("goals", f"{base}/plan"),
        ("goals", f"/fhir/CarePlan?patient={client_id}"),
        ("progress", f"{base}/timeline"),
        ("progress", f"{base}/measures?instrument=PHQ-9"),
        ("progress", f"/fhir/Observation?patient={client_id}"),
        *[(s, f"{base}/export") for s in ("intake", "goals", "progress")],
        *[(s, f"{base}/access-log") for s in ("intake", "goals", "progress")],
    ]


def gone(api: Api, service: str, path: str) -> list[requests.Response] | None:
    """The answer once it is a 410 (in a list: a 4xx Response is falsy), else None."""
    response = api.call("GET", service, path)
    return [response] if response.status_code == 410 else None


def everything_stored(suite: Any) -> dict[str, bytes]:
    """The bytes of every database file, topic, broker log file and process log."""
    var_dir: Path = suite.var_dir
    stored = {str(p): p.read_bytes() for p in sorted(var_dir.glob("*.db*"))}
    stored.update({str(p): p.read_bytes() for p in sorted((var_dir / "logs").glob("*"))})
    broker = [p for p in Path(suite.broker.data_dir).rglob("*") if p.is_file()]
    stored.update({str(p): p.read_bytes() for p in broker})
    stored.update(topic_dump(suite.kafka))
    return stored


def topic_dump(kafka: KafkaSettings) -> dict[str, bytes]:
    """Every record of every topic of the suite, dead letters included, from offset 0."""
    consumer = group_consumer(kafka, None, enable_auto_commit=False)
    try:
        topics = [t for t in consumer.topics() if t.startswith(kafka.topic_prefix)]
        assert any(t.endswith(".dlq") for t in topics)
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends, dumped = consumer.end_offsets(partitions), {t: bytearray() for t in topics}
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    headers = b"".join(k.encode() + v for k, v in r.headers or [])
                    dumped[tp.topic] += (r.key or b"") + (r.value or b"") + headers
        return {f"kafka:{t}": bytes(b) for t, b in dumped.items()}
    finally:
        consumer.close(autocommit=False)


def settled_timeline(api: Any, client_id: str) -> list[dict[str, Any]]:
    """The timeline once it stops changing (the last events may still be in flight)."""

    def same_twice() -> list[dict[str, Any]] | None:
        first = timeline(api, client_id)
        time.sleep(1.0)
        return first if first == timeline(api, client_id) else None

    return wait_until(same_twice, timeout=30, what="the timeline to settle")


def found_in(stored: dict[str, bytes], values: list[str]) -> list[tuple[str, str]]:
    return [(v, where) for v in values for where, b in stored.items() for f in forms(v) if f in b]


def test_an_erased_client_is_gone_everywhere_while_another_client_is_kept_sealed(suite, api):
    therapist = api.ok(
        "POST",
        "intake",
        "/v1/therapists",
        json={
            "name": "Dr Okafor",
            "languages": ["en"],
            "modalities": ["cbt"],
            "specialties": ["low mood"],
            "capacity": 10,
            "recorded_by": ADMIN,
        },
    )["therapist_id"]
    erased = journey(api, ERASED, therapist, idempotent=True)
    kept = journey(api, KEPT, therapist, idempotent=False)
    for client_id in (erased, kept):
        wait_until(
            lambda c=client_id: (
                {"goal_revised", "session_recorded"} <= {e["type"] for e in timeline(api, c)}
            ),
            timeout=30,
            what="progress to project the whole journey",
        )
    kept_before = settled_timeline(api, kept)
    databases = {k: v for k, v in everything_stored(suite).items() if ".db" in k}
    # Even the stored replies of idempotent writes are sealed: nothing personal in plain bytes,
    # while the clients' ids (not personal) are found, so the search does read these files.
    assert found_in(databases, searched(ERASED)) == []
    assert found_in(databases, [erased]) and found_in(databases, [kept])
    assert found_in(databases, searched(KEPT)) == []

    erasure = {"reason": "The client asked to be forgotten", "recorded_by": ADMIN}
    api.ok("POST", "intake", f"/v1/clients/{erased}/erasure", json=erasure)

    # (a) every service answers 410, FHIR with an OperationOutcome
    for service, path in client_reads(erased):
        [answer] = wait_until(
            lambda s=service, p=path: gone(api, s, p), timeout=30, what=f"410 from {service} {path}"
        )
        kind = "fhir+json" if path.startswith("/fhir") else "problem+json"
        assert answer.headers["Content-Type"] == f"application/{kind}", path
    proposal = {"title": "x", "modality": "cbt", "priority": "low", "proposed_by": THERAPIST}
    session = {"date": date.today().isoformat(), "attended": True}
    late_goal = api.call("POST", "goals", f"/v1/clients/{erased}/goals", json=proposal)
    late_session = api.call("POST", "progress", f"/v1/clients/{erased}/sessions", json=session)
    assert late_goal.status_code == late_session.status_code == 410

    # (c) a rebuild does not bring the erased client back, and keeps the other as it was
    rebuild_timeline(suite)
    assert api.call("GET", "progress", f"/v1/clients/{erased}/timeline").status_code == 410

    # (b) no trace of the erased client's values; the kept client's only through the exports
    stored = everything_stored(suite)
    for place in (".db", "/logs/", "/kafka/", "kafka:privacy.waypoint.intake.events"):
        seen = {k: v for k, v in stored.items() if place in k}
        assert found_in(seen, [erased]) and found_in(seen, [kept]), f"the search misses {place}"
    assert found_in(stored, searched(ERASED)) == []
    assert found_in(stored, searched(KEPT)) == []
    exports = json.dumps(
        [api.ok("GET", s, f"/v1/clients/{kept}/export") for s in ("intake", "goals", "progress")],
        ensure_ascii=False,
    )
    assert [v for v in searched(KEPT) if v not in exports] == []

    # (d) the other client is untouched
    assert timeline(api, kept) == kept_before
    record = api.ok("GET", "intake", f"/v1/clients/{kept}")
    assert record["given_name"] == "Bartholomäus"
    assert record["status"] == "intake_complete"
    plan = api.ok("GET", "goals", f"/v1/clients/{kept}/plan")
    assert [g["title"] for g in plan["goals"]] == [KEPT["title"]]
    log = api.ok("GET", "goals", f"/v1/clients/{kept}/access-log")["items"]
    assert {r["path"] for r in log} >= {f"/v1/clients/{kept}/export"}
