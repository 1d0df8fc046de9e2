"""An integrator's view: a Python client generated with openapi-python-client from each running
service's /openapi.json, offline, drives referral → goal → session → timeline, and the errors
come back parsed as the generated Problem model, not as raw bytes.

How an integrator generates a client is in docs/architecture.md (HTTP conventions)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.journey import PHQ9_8, SRS_38
from waypoint_devkit.suite import SERVICES, own_suite, url_of
from waypoint_devkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(420)]
# The generator's documented configuration: no formatter run after generating (it reads only the
# document), the timeline's SVG picture read as text, and intake's `Client` schema generated under
# a name apart from the generator's own `Client` (the HTTP client class).
GENERATOR_CONFIG = {
    "post_hooks": [],
    "content_type_overrides": {"image/svg+xml": "text/plain"},
    "class_overrides": {"Client": {"class_name": "ClientRecord", "module_name": "client_record"}},
}
THERAPIST = {"role": "therapist", "id": "t-okafor"}
CLIENT = {"role": "client", "id": "c-amara"}
MEASURES = {"PHQ-9": PHQ9_8, "SRS": SRS_38}


def generate(document: dict[str, Any], package: Path) -> str:
    """Generate a client package from a document as an integrator would; the generator's output."""
    source, config = package.with_suffix(".json"), package.with_suffix(".config.json")
    source.write_text(json.dumps(document))
    config.write_text(json.dumps(GENERATOR_CONFIG))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    done = subprocess.run(
        [*command, "--path", str(source), "--config", str(config), "--output-path", str(package)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    with own_suite(tmp_path_factory, kafka_bootstrap, "clients") as running:
        yield running


@pytest.fixture(scope="module")
def packages(suite: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Each service's generated client package, imported (as `<service>_client`)."""
    root = tmp_path_factory.mktemp("generated")
    for service in SERVICES:
        answer = requests.get(url_of(suite, f"{service}-web") + "/openapi.json", timeout=10)
        output = generate(answer.json(), root / f"{service}_client")
        assert "Warning" not in output, output  # every operation and response generated
    names = {f"{service}_client" for service in SERVICES}
    sys.path.insert(0, str(root))
    try:
        yield {service: importlib.import_module(f"{service}_client") for service in SERVICES}
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m.split(".")[0] in names]:
            del sys.modules[module]


class Generated:
    """The three generated clients, authenticated with one token."""

    def __init__(self, suite: Any, packages: dict[str, Any], token: str):
        self.packages = packages
        self.clients = {
            service: package.AuthenticatedClient(
                base_url=url_of(suite, f"{service}-web"), token=token, timeout=10.0
            )
            for service, package in packages.items()
        }

    def call(self, service: str, operation: str, **kw: Any) -> Any:
        """`<service>_client.api.<tag>.<operationId>.sync_detailed(...)`"""
        tag, name = operation.split(".")
        module = importlib.import_module(f"{service}_client.api.{tag}.{name}")
        return module.sync_detailed(client=self.clients[service], **kw)

    def model_type(self, service: str, name: str) -> Any:
        """A generated model class: `<service>_client.models.<schema name>`."""
        return getattr(importlib.import_module(f"{service}_client.models"), name)

    def model(self, service: str, name: str, data: dict[str, Any]) -> Any:
        return self.model_type(service, name).from_dict(data)

    def problem_type(self, service: str) -> Any:
        return self.model_type(service, "Problem")

    def once_known(self, service: str, operation: str, **kw: Any) -> Any:
        """A write, once the service knows the client: 409 "not known yet" until its consumer
        has applied the referral, then 201."""

        def written() -> Any:
            answer = self.call(service, operation, **kw)
            assert answer.status_code in (201, 409), answer.content
            return answer.parsed if answer.status_code == 201 else None

        return wait_until(written, timeout=30, what=f"{service} to know the client")


@pytest.fixture
def generated(suite: Any, packages: dict[str, Any], token: Callable[..., str]) -> Generated:
    return Generated(suite, packages, token())


def refer(api: Generated, external_id: str) -> Any:
    referral = {
        "given_name": "Amara",
        "family_name": "Osei",
        "date_of_birth": "1992-06-30",
        "preferred_language": "en",
        "presenting_concerns": ["low mood"],
        "external_id": external_id,
    }
    return api.call(
        "intake", "clients.refer_client", body=api.model("intake", "Referral", referral)
    )


def start(api: Generated) -> uuid.UUID:
    """Refer a client and record their treatment consent (intake)."""
    answer = refer(api, f"ext-{uuid.uuid4().hex[:12]}")
    assert answer.status_code == 201, answer.content
    assert isinstance(answer.parsed, api.model_type("intake", "ClientRecord"))
    client_id: uuid.UUID = answer.parsed.client_id
    consent = {
        "kind": "treatment",
        "document_version": "2026-01",
        "signed_by": "Amara Osei",
        "signed_at": datetime.now(UTC).isoformat(),
        "recorded_by": CLIENT,
    }
    granted = api.call(
        "intake",
        "consents.grant_consent",
        client_id=client_id,
        body=api.model("intake", "ConsentGrant", consent),
    )
    assert granted.status_code == 200, granted.content
    return client_id


def agree_goal(api: Generated, client_id: uuid.UUID) -> Any:
    """A goal proposed by the therapist and agreed by the client (goals)."""
    proposal = {"title": "Sleep through", "modality": "cbt", "priority": "high"}
    goal = api.once_known(
        "goals",
        "goals.propose_goal",
        client_id=client_id,
        body=api.model("goals", "Proposal", {**proposal, "proposed_by": THERAPIST}),
    )
    agreed = api.call(
        "goals",
        "lifecycle.agree",
        goal_id=goal.goal_id,
        body=api.model("goals", "Agreement", {"agreed_by": CLIENT}),
    )
    assert agreed.status_code == 200, agreed.content
    return agreed.parsed


def record_session(api: Generated, client_id: uuid.UUID) -> Any:
    """An attended session with a PHQ-9 and a strong SRS (progress)."""
    measures = [{"instrument": name, "items": items} for name, items in MEASURES.items()]
    session = {"date": date.today().isoformat(), "attended": True, "measures": measures}
    return api.once_known(
        "progress",
        "sessions.record_session",
        client_id=client_id,
        body=api.model("progress", "SessionInput", session),
    )


def timeline(api: Generated, client_id: uuid.UUID) -> list[Any]:
    answer = api.call("progress", "timeline.get_timeline", client_id=client_id, limit=200)
    return list(answer.parsed.items) if answer.status_code == 200 else []


def test_a_generated_client_drives_referral_goal_session_and_timeline(
    generated: Generated,
) -> None:
    client_id = start(generated)
    goal = agree_goal(generated, client_id)
    assert (goal.title, goal.lifecycle_status) == ("Sleep through", "active")
    session = record_session(generated, client_id)
    assert {m.instrument: m.total for m in session.measures} == {"PHQ-9": 8, "SRS": 38}

    wanted = {"journey_started", "first_goal", "strong_alliance"}

    def noticed() -> list[Any]:
        entries = timeline(generated, client_id)
        milestones = {e.type_ for e in entries if e.kind == "milestone"}
        return entries if wanted <= milestones else []

    entries = wait_until(noticed, timeout=30, what=f"the milestones {sorted(wanted)}")
    events = [e.type_ for e in entries if e.kind == "event"]
    assert {"client_referred", "goal_agreed", "session_recorded"} <= set(events), events
    titles = {e.type_: e.title for e in entries if e.kind == "milestone"}
    assert titles["first_goal"] == "First goal agreed"


def test_errors_come_back_as_the_generated_problem_model(generated: Generated) -> None:
    unknown = generated.call("intake", "clients.get_client", client_id=uuid.uuid4())
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, generated.problem_type("intake"))
    assert (unknown.parsed.status, unknown.parsed.title) == (404, "Not Found")
    assert "No client" in unknown.parsed.detail

    external_id = f"ext-{uuid.uuid4().hex[:12]}"
    first = refer(generated, external_id)
    again = refer(generated, external_id)
    assert again.status_code == 409
    assert isinstance(again.parsed, generated.problem_type("intake"))
    assert (again.parsed.status, again.parsed.title) == (409, "Conflict")
    assert "external_id" in again.parsed.detail
    assert again.parsed.client_id == first.parsed.client_id  # where that client already is

    short = {"instrument": "PHQ-9", "items": [1, 2, 3]}  # the PHQ-9 has nine items
    session = {"date": date.today().isoformat(), "attended": True, "measures": [short]}
    refused = generated.call(
        "progress",
        "sessions.record_session",
        client_id=first.parsed.client_id,
        body=generated.model("progress", "SessionInput", session),
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, generated.problem_type("progress"))
    assert (refused.parsed.status, refused.parsed.title) == (422, "Unprocessable Content")
    assert refused.parsed.detail
    assert refused.parsed.errors["measures"] == {"0": {"items": ["PHQ-9 has 9 items; got 3."]}}
