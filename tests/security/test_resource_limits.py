"""Resource limits against the running suite (OWASP API4): a token that floods a service is told
to slow down while another clinic keeps being served, pages are bounded, and a few clients that
send their requests slowly do not stall a service."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from waypoint_devkit.load import flood
from waypoint_devkit.suite import own_suite

from .conftest import url

RATE_LIMIT = 20  # requests per second per token in this module's suite (the default is 100)
FLOOD_SECONDS = 3.0
SLOW_CLIENTS = 4
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    """The suite with a rate limit low enough for a test client to overrun it."""
    with own_suite(tmp_path_factory, kafka_bootstrap, "lim", rate_limit=RATE_LIMIT) as running:
        yield running


def steady(target: str, headers: dict[str, str], until: float) -> list[int]:
    """Well under the limit: five requests a second."""
    statuses = []
    while time.monotonic() < until:
        statuses.append(requests.get(target, headers=headers, timeout=30).status_code)
        time.sleep(0.2)
    return statuses


@pytest.mark.parametrize("service", ["intake", "progress"])
def test_a_flooding_token_of_clinic_b_gets_429_while_every_request_of_clinic_a_succeeds(
    suite: Any, clinic_a: dict[str, str], clinic_b: dict[str, str], service: str
) -> None:
    path = "/v1/therapists" if service == "intake" else f"/v1/clients/{uuid.uuid4()}/milestones"
    target, until = url(suite, service, path), time.monotonic() + FLOOD_SECONDS
    with ThreadPoolExecutor(max_workers=5) as pool:
        floods = [pool.submit(flood, target, clinic_b, until) for _ in range(4)]
        served_a = pool.submit(steady, target, clinic_a, until)
        answers_b = [a for f in floods for a in f.result()]
        statuses_a = served_a.result()
    refused = [a for a in answers_b if a.status_code == 429]
    assert refused, f"{len(answers_b)} requests of clinic B in {FLOOD_SECONDS}s, none refused"
    assert all(a.headers["Content-Type"].startswith(PROBLEM_JSON) for a in refused)
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert 429 not in statuses_a and statuses_a, statuses_a


def test_a_refused_token_is_served_again_after_retry_after(
    suite: Any, token: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {token('clinic-c', sub=str(uuid.uuid4()))}"}
    target = url(suite, "intake", "/v1/therapists")
    with requests.Session() as session:
        answers = [session.get(target, headers=headers) for _ in range(RATE_LIMIT * 3)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "sixty requests at once were all served under a limit of twenty a second"
    time.sleep(int(refused[-1].headers["Retry-After"]))
    assert requests.get(target, headers=headers).status_code == 200


def hold_open_sending_slowly(
    address: tuple[str, int], headers: dict[str, str], stop: threading.Event
) -> None:
    """A client with a valid token that announces a body and sends it one byte a second."""
    with socket.create_connection(address, timeout=60) as connection:
        connection.sendall(
            b"POST /v1/clients HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
            + f"Authorization: {headers['Authorization']}\r\n".encode()
            + b"Content-Length: 1000\r\n\r\n"
        )
        while not stop.wait(1.0):
            try:
                connection.sendall(b" ")
            except OSError:
                return


def test_a_few_clients_sending_slowly_do_not_stall_the_service(
    suite: Any, clinic_a: dict[str, str]
) -> None:
    base = urlsplit(url(suite, "intake", ""))
    address, stop = (base.hostname or "127.0.0.1", base.port or 80), threading.Event()
    slow = [
        threading.Thread(target=hold_open_sending_slowly, args=(address, clinic_a, stop))
        for _ in range(SLOW_CLIENTS)
    ]
    for client in slow:
        client.start()
    try:
        time.sleep(2.0)  # every slow client is connected and has a thread reading its body
        answer = requests.get(url(suite, "intake", "/v1/therapists"), headers=clinic_a, timeout=15)
        assert answer.status_code == 200
    finally:
        stop.set()
        for client in slow:
            client.join(timeout=10)


def test_a_request_line_longer_than_the_server_reads_is_a_problem_json_400(suite: Any) -> None:
    """gunicorn refuses a request line over 8190 bytes before the app sees it; the answer is
    still the services' problem+json, and the service goes on answering."""
    target = url(suite, "intake", f"/v1/therapists?note={'a' * 9000}")

    answer = requests.get(target, timeout=10)

    assert (answer.status_code, answer.headers["Content-Type"]) == (400, PROBLEM_JSON)
    assert "8190" in answer.json()["detail"]
    assert requests.get(url(suite, "intake", "/health/live"), timeout=10).ok
