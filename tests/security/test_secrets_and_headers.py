"""Attacks on what the suite trusts at its edges: development secrets in production, the Host
header, the caller's request id in the audit, unauthenticated metrics, cached personal data.

The production start-up refusals run the real processes (a gunicorn, a worker) and the app
factories; the rest run against the real suite (gunicorn + workers + Kafka)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.journey import GOAL
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import DEVELOPMENT_MASTER_KEY, DEVELOPMENT_SECRET, UnsafeConfiguration
from waypoint_shared.http.auth import mint_token

from .conftest import refer, url

ROOT = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
SERVICES = ("intake", "goals", "progress")
FORGED_ID = "forged-audit-id-0001"


def a_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def production(service: str, **overrides: str) -> dict[str, str]:
    """A production environment for one service with every secret of its own set; an override
    of "" leaves that variable out."""
    prefix = service.upper()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYPOINT_", prefix))}
    env.update(
        {
            "WAYPOINT_ENV": "production",
            "WAYPOINT_JWT_SECRET": base64.b64encode(os.urandom(48)).decode(),
            f"{prefix}_MASTER_KEY": a_key(),
            **{f"{s.upper()}_PUBLIC_URL": f"https://{s}.clinic.example" for s in SERVICES},
            **overrides,
        }
    )
    return {k: v for k, v in env.items() if v}


UNSAFE = {
    "no JWT secret": ("WAYPOINT_JWT_SECRET", {"WAYPOINT_JWT_SECRET": ""}),
    "the development JWT secret": (
        "WAYPOINT_JWT_SECRET",
        {"WAYPOINT_JWT_SECRET": DEVELOPMENT_SECRET},
    ),
    "a 31-byte JWT secret": ("WAYPOINT_JWT_SECRET", {"WAYPOINT_JWT_SECRET": "x" * 31}),
    "only the shared master key": (
        "{SERVICE}_MASTER_KEY",
        {"{SERVICE}_MASTER_KEY": "", "WAYPOINT_MASTER_KEY": a_key()},
    ),
    "the development master key": (
        "{SERVICE}_MASTER_KEY",
        {"{SERVICE}_MASTER_KEY": DEVELOPMENT_MASTER_KEY},
    ),
    "no public URL": ("{SERVICE}_PUBLIC_URL", {"{SERVICE}_PUBLIC_URL": ""}),
}


def unsafe(service: str, case: str) -> tuple[str, dict[str, str]]:
    named, overrides = UNSAFE[case]
    prefix = service.upper()
    fill = {k.replace("{SERVICE}", prefix): v for k, v in overrides.items()}
    return named.replace("{SERVICE}", prefix), production(service, **fill)


def factory(service: str) -> Callable[[], Any]:
    module = __import__(f"waypoint_{service}.entrypoints.app", fromlist=["create_app"])
    return module.create_app  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("case", list(UNSAFE))
def test_a_production_app_refuses_to_start_with_a_missing_development_or_short_secret(
    service: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named, env = unsafe(service, case)
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in {**env, "WAYPOINT_VAR_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(UnsafeConfiguration, match=named):
        factory(service)()

    assert not list(tmp_path.glob("*.db"))  # refused before any database was opened


def test_a_production_gunicorn_without_a_jwt_secret_exits_naming_it(tmp_path: Path) -> None:
    """Without the project's gunicorn settings: the app factory's refusal fails the worker's
    boot, and gunicorn then exits instead of serving."""
    env = production("progress", WAYPOINT_JWT_SECRET="", WAYPOINT_VAR_DIR=str(tmp_path))
    app = "waypoint_progress.entrypoints.app:create_app()"
    command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{free_port()}", app]
    ran = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=60)
    said = (ran.stdout + ran.stderr).decode(errors="replace")
    assert ran.returncode != 0, said
    assert "WAYPOINT_JWT_SECRET" in said


def test_a_production_gunicorn_with_the_project_settings_exits_before_forking(
    tmp_path: Path,
) -> None:
    env = production("intake", INTAKE_MASTER_KEY=DEVELOPMENT_MASTER_KEY)
    env["WAYPOINT_VAR_DIR"] = str(tmp_path)
    app = "waypoint_intake.entrypoints.app:create_app()"
    conf = "python:waypoint_shared.http.gunicorn_conf"
    command = [str(BIN / "gunicorn"), "-c", conf, "--bind", f"127.0.0.1:{free_port()}", app]
    ran = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=60)
    said = (ran.stdout + ran.stderr).decode(errors="replace")
    assert ran.returncode != 0 and "INTAKE_MASTER_KEY" in said, said


def test_a_production_worker_with_the_development_jwt_secret_exits_naming_it(
    tmp_path: Path,
) -> None:
    env = production("goals", WAYPOINT_JWT_SECRET=DEVELOPMENT_SECRET)
    env["WAYPOINT_VAR_DIR"] = str(tmp_path)
    command = [str(BIN / "waypoint-goals-worker")]
    ran = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=60)
    said = (ran.stdout + ran.stderr).decode(errors="replace")
    assert ran.returncode != 0 and "WAYPOINT_JWT_SECRET" in said, said


def test_no_one_can_mint_a_token_with_the_development_secret_in_production() -> None:
    env = production("intake", WAYPOINT_JWT_SECRET="")
    for command in ([str(BIN / "waypoint-token")], [str(BIN / "waypoint-admin"), "token"]):
        ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert ran.returncode != 0 and ran.stdout == "", command
        assert "WAYPOINT_JWT_SECRET" in ran.stderr


# --- against the running suite -------------------------------------------------------------

ATTACKER = {"Host": "attacker.example"}


@pytest.fixture(scope="module")
def client(suite: Any) -> str:
    """A client of clinic A, known to the three services."""
    return refer(
        suite, {"Authorization": f"Bearer {mint_token(DEVELOPMENT_SECRET, 'a', 'clinic-a')}"}
    )


def links_of(bundle: dict[str, Any]) -> list[str]:
    return [e["fullUrl"] for e in bundle.get("entry", [])] + [
        link["url"] for link in bundle.get("link", [])
    ]


def test_fhir_links_name_the_configured_public_url_whatever_the_host_header(
    suite: Any, client: str, clinic_a: dict[str, str]
) -> None:
    session = {
        "date": date.today().isoformat(),
        "attended": True,
        "measures": [{"instrument": "ORS", "items": [6.0, 6.5, 7.0, 7.5]}],
    }
    recorded = requests.post(
        url(suite, "progress", f"/v1/clients/{client}/sessions"), json=session, headers=clinic_a
    )
    assert recorded.status_code == 201, recorded.text
    wait_until(
        lambda: (
            requests.post(
                url(suite, "goals", f"/v1/clients/{client}/goals"), json=GOAL, headers=clinic_a
            ).status_code
            == 201
        ),
        what="goals to take a goal for the client",
    )
    searches = {
        "intake": f"/fhir/Consent?patient={client}",
        "goals": f"/fhir/CarePlan?patient={client}",
        "progress": f"/fhir/Observation?patient={client}",
    }
    for service, path in searches.items():

        def search(service: str = service, path: str = path) -> requests.Response | None:
            found = requests.get(url(suite, service, path), headers={**clinic_a, **ATTACKER})
            assert found.status_code == 200, found.text
            return found if links_of(found.json()) else None  # the views catch up

        found = wait_until(search, what=f"{service}'s FHIR search to find the client")
        links = links_of(found.json())
        assert [u for u in links if not u.startswith(url(suite, service, "/fhir/"))] == []
        assert "attacker.example" not in found.text


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_are_not_served_on_the_web_port_to_a_caller_without_a_metrics_token(
    suite: Any, service: str, token: Callable[..., str]
) -> None:
    anonymous = requests.get(url(suite, service, "/metrics"))
    clinician = {"Authorization": f"Bearer {token('clinic-b', f'{service}:read')}"}
    scoped = requests.get(url(suite, service, "/metrics"), headers=clinician)

    assert (anonymous.status_code, scoped.status_code) == (401, 403)
    for refused in (anonymous, scoped):
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "waypoint_http_requests" not in refused.text


READS = {
    "intake": "/v1/clients/{id}",
    "goals": "/v1/clients/{id}/plan",
    "progress": "/v1/clients/{id}/timeline",
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_callers_x_request_id_does_not_become_the_audit_request_id(
    suite: Any, service: str, client: str, clinic_a: dict[str, str]
) -> None:
    path = READS[service].format(id=client)
    read = requests.get(url(suite, service, path), headers={**clinic_a, "X-Request-ID": FORGED_ID})
    assert read.status_code == 200, read.text

    log = requests.get(url(suite, service, f"/v1/clients/{client}/access-log"), headers=clinic_a)

    assert log.status_code == 200, log.text
    audited = [e["request_id"] for e in log.json()["items"] if e["path"] == path]
    assert FORGED_ID not in audited
    assert read.headers["X-Request-ID"] in audited  # the id the service gave that read
    assert read.headers["X-Correlation-ID"] == FORGED_ID  # the caller's, kept for tracing


def test_personal_data_answers_may_not_be_cached_or_sniffed(
    suite: Any, client: str, clinic_a: dict[str, str]
) -> None:
    answers = [
        requests.get(url(suite, "intake", f"/v1/clients/{client}"), headers=clinic_a),
        requests.get(url(suite, "intake", f"/fhir/Patient/{client}"), headers=clinic_a),
        requests.get(url(suite, "goals", f"/v1/clients/{client}/plan"), headers=clinic_a),
        requests.get(url(suite, "progress", f"/v1/clients/{client}/timeline"), headers=clinic_a),
        requests.get(
            url(suite, "progress", f"/v1/clients/{client}/timeline.svg"), headers=clinic_a
        ),
        requests.get(url(suite, "intake", f"/v1/clients/{client}/export"), headers=clinic_a),
        requests.get(url(suite, "intake", f"/v1/clients/{client}")),  # a refusal too
    ]
    for answer in answers:
        where = answer.request.path_url
        assert answer.status_code in (200, 401), (where, answer.status_code)
        assert answer.headers.get("Cache-Control") == "no-store", where
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", where
