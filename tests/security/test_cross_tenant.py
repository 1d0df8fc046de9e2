"""Another clinic cannot read, write or even sense clinic A's clients (OWASP API1, BOLA).

Clinic A refers a client, registers a therapist, agrees a goal with a step and records a session
that raised an alert. Clinic B, with a valid token of its own, then calls every route that takes
one of those ids, reads and writes, with and without `If-Match`. Each answer must be the one B
gets for a random id: same status, same body once the id is replaced, no version, no ETag. Then
A's record must be as it was and nothing must be stored for B.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
import requests

from waypoint_devkit.waiting import wait_until

from .conftest import refer, url

# A time the services accept for as_of (at most a day ahead), after everything the tests write.
SOON = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(600)]

WHO = {"role": "clinician", "id": "dr-b"}
ENDED = {"ending_reason": "not_known", "recorded_by": WHO}  # a discharge's body
THERAPIST = {"role": "therapist", "id": "t-b"}  # goals' parties are clients and therapists
CLIENT = {"role": "client", "id": "c-a"}
SESSION = {"date": date.today().isoformat(), "attended": True}
RISKY_SESSION = {**SESSION, "measures": [{"instrument": "PHQ-9", "items": [1] * 9}]}
CONSENT = {
    "kind": "treatment",
    "document_version": "v1",
    "signed_by": "Someone Else",
    "signed_at": "2026-01-05T10:00:00+00:00",
    "recorded_by": WHO,
}
STAYING_WELL = {
    "warning_signs": ["x"],
    "what_helps": ["x"],
    "who_to_contact": [{"name": "x"}],
    "agreed_by": [CLIENT, THERAPIST],
}
SCREENING = {"instrument": "GAD-7", "items": [1] * 7, "recorded_by": WHO}
T = TypeVar("T")
# A placeholder for the id of the first of A's FHIR resources of a type, as A's search finds it.
FHIR_IDS = {
    "episode": "EpisodeOfCare",
    "consent": "Consent",
    "questionnaire_response": "QuestionnaireResponse",
    "observation": "Observation",
}
# Clinic A's ids; the last four are ids of A's FHIR resources.
FOREIGN = ("client", "goal", "step", "therapist", "session", "alert", *FHIR_IDS)

# service, method, path, body: every route that takes a client, goal, step, therapist, session or
# alert id. {own_client} and {own_goal} are clinic B's own (to try A's therapist and step ids).
ROUTES = [
    ("intake", "GET", "/v1/clients/{client}", None),
    ("intake", "GET", f"/v1/clients/{{client}}?as_of={SOON}", None),
    ("intake", "PATCH", "/v1/clients/{client}", {"preferred_name": "B", "recorded_by": WHO}),
    ("intake", "GET", "/v1/clients/{client}/history", None),
    ("intake", "PUT", "/v1/clients/{client}/cultural-context", {"recorded_by": WHO}),
    ("intake", "POST", "/v1/clients/{client}/consents", CONSENT),
    (
        "intake",
        "POST",
        "/v1/clients/{client}/consents/treatment/revocation",
        {"reason": "x", "revoked_by": "x", "recorded_by": WHO},
    ),
    (
        "intake",
        "POST",
        "/v1/clients/{client}/expectations",
        {"topics": ["cancellation"], "acknowledged_by": WHO},
    ),
    (
        "intake",
        "POST",
        "/v1/clients/{client}/screenings",
        {"instrument": "GAD-7", "items": [1] * 7, "recorded_by": WHO},
    ),
    ("intake", "GET", "/v1/clients/{client}/therapist-matches", None),
    (
        "intake",
        "PUT",
        "/v1/clients/{client}/therapist",
        {"therapist_id": "{therapist}", "recorded_by": WHO},
    ),
    (
        "intake",
        "PUT",
        "/v1/clients/{own_client}/therapist",
        {"therapist_id": "{therapist}", "recorded_by": WHO},
    ),
    ("intake", "POST", "/v1/clients/{client}/completion", {"recorded_by": WHO}),
    ("intake", "GET", "/v1/therapists/{therapist}", None),
    ("intake", "PATCH", "/v1/therapists/{therapist}", {"capacity": 1, "recorded_by": WHO}),
    ("intake", "GET", "/v1/clients/{client}/export", None),
    ("intake", "GET", "/v1/clients/{client}/access-log", None),
    ("intake", "GET", "/fhir/Patient/{client}", None),
    ("intake", "GET", "/fhir/Consent?patient={client}", None),
    ("intake", "GET", "/fhir/QuestionnaireResponse?patient={client}", None),
    ("intake", "GET", "/fhir/Observation?patient={client}", None),
    ("intake", "GET", "/fhir/Observation?subject=Patient/{client}", None),
    ("intake", "GET", "/fhir/EpisodeOfCare?patient={client}", None),
    ("intake", "GET", "/fhir/EpisodeOfCare/{episode}", None),
    ("intake", "GET", "/fhir/Consent/{consent}", None),
    ("intake", "GET", "/fhir/QuestionnaireResponse/{questionnaire_response}", None),
    ("intake", "GET", "/fhir/Observation/{observation}", None),
    (
        "goals",
        "POST",
        "/v1/clients/{client}/goals",
        {"title": "B's goal", "modality": "cbt", "priority": "low", "proposed_by": THERAPIST},
    ),
    ("goals", "GET", "/v1/clients/{client}/plan", None),
    ("goals", "GET", "/v1/goals/{goal}", None),
    ("goals", "GET", "/v1/goals/{goal}/history", None),
    ("goals", "PATCH", "/v1/goals/{goal}", {"reason": "x", "changes": {"priority": "high"}}),
    ("goals", "POST", "/v1/goals/{goal}/agreement", {"agreed_by": THERAPIST}),
    ("goals", "POST", "/v1/goals/{goal}/rejection", {"reason": "x", "rejected_by": THERAPIST}),
    ("goals", "POST", "/v1/goals/{goal}/steps", {"description": "B's step"}),
    ("goals", "GET", "/v1/goals/{goal}/steps/{step}", None),
    ("goals", "GET", "/v1/goals/{own_goal}/steps/{step}", None),
    (
        "goals",
        "PATCH",
        "/v1/goals/{goal}/steps/{step}",
        {"reason": "x", "changes": {"description": "B"}},
    ),
    (
        "goals",
        "PATCH",
        "/v1/goals/{own_goal}/steps/{step}",
        {"reason": "x", "changes": {"description": "B"}},
    ),
    ("goals", "POST", "/v1/goals/{goal}/steps/{step}/completion", {}),
    ("goals", "POST", "/v1/goals/{own_goal}/steps/{step}/completion", {}),
    ("goals", "POST", "/v1/goals/{goal}/check-ins", {"rating": 3, "by": THERAPIST}),
    ("goals", "POST", "/v1/goals/{goal}/hold", {"reason": "x"}),
    ("goals", "POST", "/v1/goals/{goal}/resume", {"reason": "x"}),
    ("goals", "POST", "/v1/goals/{goal}/achievement", {}),
    ("goals", "GET", "/v1/clients/{client}/staying-well-plan", None),
    ("goals", "PUT", "/v1/clients/{client}/staying-well-plan", STAYING_WELL),
    ("goals", "GET", "/v1/clients/{client}/export", None),
    ("goals", "GET", "/v1/clients/{client}/access-log", None),
    ("goals", "GET", "/fhir/Goal/{goal}", None),
    ("goals", "GET", "/fhir/CarePlan/{client}", None),
    ("goals", "GET", "/fhir/CarePlan?patient={client}", None),
    ("goals", "GET", "/fhir/Goal?patient={client}", None),
    ("progress", "POST", "/v1/clients/{client}/sessions", SESSION),
    ("progress", "GET", "/v1/clients/{client}/sessions/{session}", None),
    ("progress", "GET", "/v1/clients/{own_client}/sessions/{session}", None),
    (
        "progress",
        "POST",
        "/v1/clients/{client}/alerts/{alert}/acknowledgement",
        {"acknowledged_by": WHO, "action_taken": "x"},
    ),
    (
        "progress",
        "POST",
        "/v1/clients/{own_client}/alerts/{alert}/acknowledgement",
        {"acknowledged_by": WHO, "action_taken": "x"},
    ),
    ("progress", "GET", "/v1/clients/{client}/timeline", None),
    ("progress", "GET", "/v1/clients/{client}/timeline?kind=milestone", None),
    ("progress", "GET", "/v1/clients/{client}/timeline.svg", None),
    ("progress", "GET", "/v1/clients/{client}/milestones", None),
    ("progress", "GET", "/v1/clients/{client}/measures?instrument=PHQ-9", None),
    ("progress", "GET", "/v1/clients/{client}/export", None),
    ("progress", "GET", "/v1/clients/{client}/access-log", None),
    ("progress", "GET", "/v1/clients/{client}/outcome", None),
    ("progress", "GET", "/v1/clients/{client}/summary", None),
    ("progress", "GET", "/fhir/Observation?patient={client}", None),
    ("progress", "GET", "/fhir/Observation?subject=Patient/{client}", None),
    ("progress", "GET", "/fhir/Observation/{session}-phq-9", None),
    # Last: if B could cancel, discharge or erase A's client, A's record would show it.
    ("goals", "POST", "/v1/goals/{goal}/cancellation", {"reason": "x"}),
    ("intake", "POST", "/v1/clients/{client}/discharge", ENDED),
    ("intake", "POST", "/v1/clients/{client}/erasure", {"reason": "x", "recorded_by": WHO}),
]


@dataclass
class World:
    a: dict[str, str]  # clinic A's ids by placeholder
    b: dict[str, str]  # clinic B's own
    before: dict[str, Any]  # what A sees of its record before the attacks
    b_rows: dict[str, int]  # rows clinic B has in each service's tables before the attacks


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def post_when_known(suite: Any, service: str, path: str, body: dict, headers: dict) -> Any:
    """A write the service takes once the client's referral has reached it (409 until then)."""

    def attempt() -> Any:
        answer = requests.post(url(suite, service, path), json=body, headers=headers, timeout=10)
        assert answer.status_code in (201, 409), answer.text
        return answer.json() if answer.status_code == 201 else None

    return wait_until(attempt, timeout=30, what=f"{service} to know the client")


def a_view(suite: Any, a: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """Clinic A's record as A reads it: the client, its history, the goal, the timeline."""
    client, goal = a["client"], a["goal"]

    def read(service: str, path: str) -> Any:
        return ok(requests.get(url(suite, service, path), headers=headers, timeout=10))

    return {
        "client": read("intake", f"/v1/clients/{client}"),
        "history": read("intake", f"/v1/clients/{client}/history"),
        "goal": read("goals", f"/v1/goals/{goal}"),
        "staying_well_plan": read("goals", f"/v1/clients/{client}/staying-well-plan"),
        "timeline": read("progress", f"/v1/clients/{client}/timeline?limit=200"),
    }


def rows_of_tenant(suite: Any, tenant: str) -> dict[str, int]:
    """Rows of a tenant in every table of the services' databases (the reads' audit aside)."""
    counts = {}
    for service in ("intake", "goals", "progress"):
        with sqlite3.connect(suite.var_dir / f"{service}.db") as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in names:
                columns = [c[1] for c in db.execute(f'PRAGMA table_info("{name}")')]
                if "tenant_id" in columns and name != "read_audit":
                    query = f'SELECT count(*) FROM "{name}" WHERE tenant_id = ?'
                    counts[f"{service}.{name}"] = db.execute(query, (tenant,)).fetchone()[0]
    return counts


def make_world(suite: Any, a: dict[str, str], b: dict[str, str]) -> World:
    therapist = {"name": "Dr A", "capacity": 5, "recorded_by": WHO}
    made = ok(requests.post(url(suite, "intake", "/v1/therapists"), json=therapist, headers=a), 201)
    ids = {"therapist": str(made["therapist_id"]), "client": refer(suite, a)}
    intake_path = f"/v1/clients/{ids['client']}"
    for step, body in (("consents", {**CONSENT, "signed_by": "Amara"}), ("screenings", SCREENING)):
        answer = requests.post(url(suite, "intake", f"{intake_path}/{step}"), json=body, headers=a)
        assert answer.status_code in (200, 201), answer.text
    ids.update(fhir_ids(suite, ids["client"], a))
    proposal = {"title": "Sleep", "modality": "cbt", "priority": "high", "proposed_by": THERAPIST}
    goals_path = f"/v1/clients/{ids['client']}/goals"
    ids["goal"] = str(post_when_known(suite, "goals", goals_path, proposal, a)["goal_id"])
    agreement = url(suite, "goals", f"/v1/goals/{ids['goal']}/agreement")
    ok(requests.post(agreement, json={"agreed_by": CLIENT}, headers=a))
    step = requests.post(
        url(suite, "goals", f"/v1/goals/{ids['goal']}/steps"),
        json={"description": "Diary"},
        headers=a,
    )
    ids["step"] = str(ok(step, 201)["step_id"])
    plan = url(suite, "goals", f"/v1/clients/{ids['client']}/staying-well-plan")
    ok(requests.put(plan, json=STAYING_WELL, headers=a), 201)
    sessions = f"/v1/clients/{ids['client']}/sessions"
    session = post_when_known(suite, "progress", sessions, RISKY_SESSION, a)
    ids["session"], ids["alert"] = session["session_id"], session["alerts"][0]["alert_id"]

    own = {"own_client": refer(suite, b)}
    own_goals = f"/v1/clients/{own['own_client']}/goals"
    own["own_goal"] = str(post_when_known(suite, "goals", own_goals, proposal, b)["goal_id"])
    before = settled(lambda: a_view(suite, ids, a), "clinic A's record")
    return World(ids, own, before, settled(lambda: rows_of_tenant(suite, "clinic-b"), "B's rows"))


def fhir_ids(suite: Any, client_id: str, headers: dict[str, str]) -> dict[str, str]:
    """The ids of the client's first FHIR resource of each type, as its clinic finds them."""
    ids = {}
    for name, resource_type in FHIR_IDS.items():
        path = f"/fhir/{resource_type}?patient={client_id}"
        bundle = ok(requests.get(url(suite, "intake", path), headers=headers, timeout=10))
        ids[name] = bundle["entry"][0]["resource"]["id"]
    return ids


def settled(look: Callable[[], T], what: str) -> T:
    """What look() shows once the workers have projected everything (the same twice, 2 s
    apart)."""

    def unchanged() -> list[T]:
        first = look()
        time.sleep(2)
        return [first] if look() == first else []

    return wait_until(unchanged, timeout=60, what=f"{what} to settle")[0]


@pytest.fixture
def world(suite: Any, clinic_a: dict[str, str], clinic_b: dict[str, str]) -> World:
    """Made once for the module's suite; the attack tests below all share it."""
    if not hasattr(suite, "cross_tenant_world"):
        try:
            suite.cross_tenant_world = make_world(suite, clinic_a, clinic_b)
        except Exception as error:  # one failed set-up, not one per test
            suite.cross_tenant_world = f"clinic A's record could not be made: {error!r}"
    if isinstance(suite.cross_tenant_world, str):
        pytest.fail(suite.cross_tenant_world)
    return suite.cross_tenant_world


def filled(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: filled(v, ids) for k, v in template.items()}
    return template


def call(suite: Any, route: tuple, ids: dict[str, str], headers: dict[str, str]) -> Any:
    service, method, path, body = route
    return requests.request(
        method,
        url(suite, service, filled(path, ids)),
        json=filled(body, ids),
        headers=headers,
        timeout=10,
    )


def as_seen(response: requests.Response, ids: dict[str, str]) -> dict[str, Any]:
    """What the caller learns from an answer, with the ids it sent replaced by their names."""
    text = response.text
    for name, value in ids.items():
        text = text.replace(value, f"<{name}>")
    shown = {h: response.headers.get(h) for h in ("Content-Type", "ETag", "Retry-After")}
    return {"status": response.status_code, "headers": shown, "body": _without_own_reads(text)}


def _without_own_reads(text: str) -> str:
    """An access log lists the caller's own earlier reads of the id (its tenant's audit); only
    another tenant's entries would tell it something."""
    if not text.startswith("{"):
        return text  # the picture
    body = json.loads(text)
    if isinstance(body.get("items"), list):
        body["items"] = [i for i in body["items"] if i.get("tenant") != "clinic-b"]
    return json.dumps(body, sort_keys=True)


def route_id(route: tuple) -> str:
    """The route as the test's name shows it, the same in every collection (so `--lf` and
    `--deselect` find the test again): `as_of` appears as `{soon}`."""
    return f"{route[0]} {route[1]} {route[2].replace(SOON, '{soon}')}"


# A's client, session and staying-well plan streams are at version 1, A's goal at 3 (proposed,
# agreed, one step).
@pytest.mark.parametrize("if_match", [None, '"1"', '"3"'], ids=["no If-Match", '"1"', '"3"'])
@pytest.mark.parametrize("route", ROUTES, ids=[route_id(r) for r in ROUTES])
def test_another_clinic_gets_for_a_clients_ids_what_it_gets_for_random_ids(
    suite: Any, world: World, clinic_b: dict[str, str], route: tuple, if_match: str | None
) -> None:
    headers = {**clinic_b, **({"If-Match": if_match} if if_match else {})}
    random_ids = {name: str(uuid.uuid4()) for name in FOREIGN}

    attack = call(suite, route, {**world.a, **world.b}, headers)
    control = call(suite, route, {**random_ids, **world.b}, headers)

    assert control.status_code != 422, control.text  # the body is valid: the ids are what count
    assert as_seen(attack, world.a) == as_seen(control, random_ids)
    assert attack.status_code >= 400 or route[1] == "GET"
    assert "clinic-a" not in attack.text
    if "{own_" not in route[2]:  # a version of B's own client or goal is B's to see
        assert "ETag" not in attack.headers
        assert '"version"' not in attack.text and "current_version" not in attack.text


def test_another_clinic_posting_a_session_learns_nothing_of_the_clients_activity(
    suite: Any, world: World, clinic_b: dict[str, str]
) -> None:
    path = f"/v1/clients/{world.a['client']}/sessions"

    answer = requests.post(url(suite, "progress", path), json=SESSION, headers=clinic_b)

    assert answer.status_code == 409
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["detail"].startswith("client not known yet: ")
    assert "current_version" not in answer.json()


def test_after_the_attacks_clinic_a_sees_its_record_as_it_was_and_records_its_next_session(
    suite: Any, world: World, clinic_a: dict[str, str]
) -> None:
    assert a_view(suite, world.a, clinic_a) == world.before

    path = f"/v1/clients/{world.a['client']}/sessions"
    answer = requests.post(url(suite, "progress", path), json=SESSION, headers=clinic_a)

    assert answer.status_code == 201, answer.text
    assert answer.headers["ETag"] == '"2"'  # A's session stream holds A's one session before it


def test_after_the_attacks_nothing_was_stored_for_the_other_clinic(
    suite: Any, world: World
) -> None:
    assert rows_of_tenant(suite, "clinic-b") == world.b_rows
