"""The per-token limit in the proxy (ADR 0010): HAProxy, configured by the devkit's balancer as
`make run-cluster` runs it, in front of one real gunicorn web process of intake (no Kafka: the web
process serves reads without it). A flooding token is refused by HAProxy itself, with the
services' problem+json, `Retry-After` and safety headers, while another tenant keeps being served
by the web process; requests without a token pass to the service, which answers 401."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import free_port, unavailable
from waypoint_devkit.load import flood
from waypoint_devkit.waiting import wait_until

pytestmark = pytest.mark.e2e

RATE_LIMIT = 20  # requests per second per token, for the web process and the proxy alike
FLOOD_SECONDS = 3.0
BIN = Path(sys.executable).parent


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _started(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HAProxy's address in front of intake's web process, both limiting tokens to RATE_LIMIT/s."""
    if not _has_haproxy():
        unavailable("haproxy is not installed (make kafka-jars installs it)")
    var = tmp_path_factory.mktemp("proxy-limit")
    env = {
        **os.environ,
        "WAYPOINT_ENV": "development",
        "WAYPOINT_VAR_DIR": str(var),
        "WAYPOINT_RATE_LIMIT": str(RATE_LIMIT),
        "WAYPOINT_LOG_LEVEL": "WARNING",
    }
    web_port, front = free_port(), free_port()
    web = _started(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:waypoint_shared.http.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{web_port}",
            "waypoint_intake.entrypoints.app:create_app()",
        ],
        env,
        var / "intake-web.log",
    )
    text = balancer.configuration({"intake": front}, {"intake": [web_port]}, free_port(), env)
    config = balancer.write_configuration(var / "haproxy.cfg", text)
    haproxy = _started([balancer.haproxy_command(), "-db", "-f", str(config)], env, var / "hap.log")
    url = f"http://127.0.0.1:{front}"
    try:
        wait_until(lambda: _answers(f"{url}/health/ready"), timeout=60, what="intake via HAProxy")
        yield url
    finally:
        _stop(haproxy)
        _stop(web)


def _has_haproxy() -> bool:
    try:
        balancer.haproxy_command()
    except RuntimeError:
        return False
    return True


def steady(target: str, headers: dict[str, str], until: float) -> list[requests.Response]:
    """Well under the limit: five requests a second."""
    answers = []
    while time.monotonic() < until:
        answers.append(requests.get(target, headers=headers, timeout=30))
        time.sleep(0.2)
    return answers


def test_haproxy_refuses_a_flooding_token_while_another_tenant_is_served(
    proxy: str, token: Callable[..., str]
) -> None:
    clinic_a = {"Authorization": f"Bearer {token('clinic-a')}"}
    clinic_b = {"Authorization": f"Bearer {token('clinic-b')}"}
    target, until = f"{proxy}/v1/therapists", time.monotonic() + FLOOD_SECONDS
    with ThreadPoolExecutor(max_workers=5) as pool:
        floods = [pool.submit(flood, target, clinic_b, until) for _ in range(4)]
        served_a = pool.submit(steady, target, clinic_a, until)
        answers_b = [a for f in floods for a in f.result()]
        answers_a = served_a.result()

    refused = [a for a in answers_b if a.headers.get("X-Served-By") == "haproxy"]
    assert refused, f"{len(answers_b)} requests of clinic B in {FLOOD_SECONDS}s, none refused"
    assert {a.status_code for a in refused} == {429}
    for answer in refused:
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        body = answer.json()
        assert (body["status"], body["title"], body["instance"]) == (
            429,
            "Too Many Requests",
            "/v1/therapists",
        )
        assert f"more than {RATE_LIMIT} requests per second" in body["detail"]
    assert any(a.status_code == 200 for a in answers_b), "the token's own share is served"
    # The proxy refuses what the service would have: the service itself refuses almost nothing
    # (at most the odd request two HAProxy threads admitted at the same instant).
    by_service = [a for a in answers_b if a.status_code == 429 and a not in refused]
    assert len(by_service) <= 2, (
        f"{len(by_service)} refused by the service, {len(refused)} by HAProxy"
    )
    assert answers_a and {a.status_code for a in answers_a} == {200}
    assert {a.headers["X-Served-By"] for a in answers_a} == {"intake-web-1"}


def test_a_refusal_under_fhir_is_an_operation_outcome(
    proxy: str, token: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {token('clinic-c', sub=str(uuid.uuid4()))}"}
    target = f"{proxy}/fhir/Patient/{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = [
            a
            for f in [pool.submit(flood, target, headers, time.monotonic() + 1.5) for _ in range(4)]
            for a in f.result()
        ]

    refused = [a for a in answers if a.headers.get("X-Served-By") == "haproxy"]
    assert refused and {a.status_code for a in refused} == {429}
    assert refused[0].headers["Content-Type"] == "application/fhir+json"
    assert refused[0].headers["Cache-Control"] == "no-store"
    outcome = refused[0].json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "throttled"


def test_requests_without_a_token_pass_to_the_service(proxy: str) -> None:
    with requests.Session() as session:
        answers = [session.get(f"{proxy}/v1/therapists") for _ in range(RATE_LIMIT * 2)]

    assert {a.status_code for a in answers} == {401}
    assert {a.headers["X-Served-By"] for a in answers} == {"intake-web-1"}
    assert answers[0].headers["Content-Type"].startswith("application/problem+json")
