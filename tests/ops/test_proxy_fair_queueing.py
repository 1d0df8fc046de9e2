"""Fair queueing in the proxy (ADR 0010): HAProxy, configured by the devkit's balancer, sends a
replica at most a few requests at once; the rest wait in its queue, where the token that has used
the least of its allowance goes first, and a token well into its allowance has at most one request
in flight on a replica. A slow stand-in replica records the order requests reach it and how many
of each token's it is serving at once, so the test sees the queue's order rather than timings; it
can also hold its places until the test frees one, and HAProxy's stats page shows what waits in
its queue, so no ordering depends on how fast threads run."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

import pytest
import requests

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import free_port, unavailable
from waypoint_devkit.waiting import wait_until

pytestmark = pytest.mark.e2e

SERVICE_SECONDS = 0.3  # each request the stand-in replica serves takes this long
HEAVY_REQUESTS = 3 * balancer.IN_FLIGHT_PER_REPLICA
RATE_LIMIT = 50  # per token: one request every 20 ms, a burst of 50 at once
FAST_PATH = "/v1/fast"  # answered at once by the stand-in replica


class SlowReplica(BaseHTTPRequestHandler):
    """Answers every request after SERVICE_SECONDS (FAST_PATH at once); notes whose it was as it
    arrives and the most requests of each token it served at once."""

    arrivals: list[str] = []
    in_flight: Counter[str] = Counter()
    most_in_flight: Counter[str] = Counter()
    lock = threading.Lock()
    held: threading.Semaphore | None = None  # when set, each request waits for a place freed

    def do_GET(self) -> None:
        if self.path not in (balancer.HEALTH_PATH, FAST_PATH):
            self._serve_slowly(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve_slowly(self, token: str) -> None:
        with self.lock:
            self.arrivals.append(token)
            self.in_flight[token] += 1
            self.most_in_flight[token] = max(self.most_in_flight[token], self.in_flight[token])
        held = self.held
        if held is not None:
            held.acquire(timeout=30)
        time.sleep(SERVICE_SECONDS)
        with self.lock:
            self.in_flight[token] -= 1

    def log_message(self, *_args: object) -> None:
        pass


class Proxy(NamedTuple):
    url: str
    stats: str

    def queued(self, backend: str = "intake-web") -> int:
        """Requests waiting in HAProxy's queue for a backend (its stats page's qcur)."""
        page = requests.get(f"{self.stats}/;csv", timeout=2).text.removeprefix("# ")
        for row in csv.DictReader(io.StringIO(page)):
            if row["pxname"] == backend and row["svname"] == "BACKEND":
                return int(row["qcur"] or 0)
        raise AssertionError(f"HAProxy's stats page has no backend {backend}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    try:
        command = balancer.haproxy_command()
    except RuntimeError as missing:
        unavailable(str(missing))
    var = tmp_path_factory.mktemp("fair-queue")
    replica = ThreadingHTTPServer(("127.0.0.1", 0), SlowReplica)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    front = free_port()
    env = {**os.environ, "WAYPOINT_ENV": "development", "WAYPOINT_RATE_LIMIT": str(RATE_LIMIT)}
    replicas = {"intake": [replica.server_port]}
    stats = free_port()
    text = balancer.configuration({"intake": front}, replicas, stats, env)
    config = balancer.write_configuration(var / "haproxy.cfg", text)
    with (var / "haproxy.log").open("ab") as log:
        haproxy = subprocess.Popen(
            [command, "-db", "-f", str(config)], stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://127.0.0.1:{front}"
    try:
        wait_until(lambda: _answers(f"{url}{balancer.HEALTH_PATH}"), timeout=30, what="HAProxy")
        yield Proxy(url, f"http://127.0.0.1:{stats}")
    finally:
        os.killpg(haproxy.pid, signal.SIGTERM)
        haproxy.wait(timeout=20)
        replica.shutdown()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_light_tenants_request_is_served_before_a_heavy_tenants_queued_ones(
    proxy: Proxy,
) -> None:
    heavy, light = "Bearer heavy-clinic-token", "Bearer light-clinic-token"
    waiting = HEAVY_REQUESTS - balancer.IN_FLIGHT_PER_REPLICA
    first = len(SlowReplica.arrivals)
    with _replica_holding_its_places() as places, ThreadPoolExecutor(HEAVY_REQUESTS + 1) as pool:
        queued = [pool.submit(_get, proxy.url, heavy) for _ in range(HEAVY_REQUESTS)]
        wait_until(lambda: proxy.queued() == waiting, timeout=10, what="the heavy tenant's queue")
        served = pool.submit(_get, proxy.url, light)
        wait_until(lambda: proxy.queued() == waiting + 1, timeout=10, what="the light one queued")
        places.release()  # one place frees: the first request in HAProxy's queue takes it
        _wait_for_arrivals(first + balancer.IN_FLIGHT_PER_REPLICA + 1)
        places.release(HEAVY_REQUESTS)
        answers = [f.result(timeout=30) for f in [*queued, served]]

    assert {a.status_code for a in answers} == {200}
    assert SlowReplica.arrivals[first:].index(light) == balancer.IN_FLIGHT_PER_REPLICA, (
        "the light tenant's request should take the first place that frees, "
        f"ahead of the heavy tenant's {waiting} queued"
    )


def test_a_token_well_into_its_allowance_has_one_request_in_flight_and_a_light_one_goes_straight_in(
    proxy: Proxy,
) -> None:
    heavy, light = "Bearer flooding-clinic-token", "Bearer quiet-clinic-token"
    with requests.Session() as session:  # 30 of its 50 at once: well into its allowance
        for _ in range(30):
            assert session.get(f"{proxy.url}{FAST_PATH}", headers={"Authorization": heavy}).ok
    first = len(SlowReplica.arrivals)
    in_turn = balancer.IN_FLIGHT_PER_REPLICA + 2
    with _replica_holding_its_places() as places, ThreadPoolExecutor(in_turn + 1) as pool:
        queued = [pool.submit(_get, proxy.url, heavy) for _ in range(in_turn)]
        wait_until(
            lambda: proxy.queued("intake-web-heavy") == in_turn - 1,
            timeout=10,
            what="the heavy token's queue",
        )
        served = pool.submit(_get, proxy.url, light)
        _wait_for_arrivals(first + 2)  # the heavy token's one in flight, and the light one's
        places.release(in_turn + 1)
        answers = [f.result(timeout=30) for f in [*queued, served]]

    assert {a.status_code for a in answers} == {200}, "queued, never refused"
    assert SlowReplica.most_in_flight[heavy] == balancer.HEAVY_IN_FLIGHT_PER_REPLICA, (
        "a token well into its allowance should have one request in flight on the replica, "
        "the others queued in the proxy"
    )
    assert SlowReplica.arrivals[first:].index(light) == 1, (
        "the light tenant's request should go straight in beside the heavy token's one"
    )


@contextmanager
def _replica_holding_its_places() -> Iterator[threading.Semaphore]:
    """The replica keeps each request it is given until the test frees a place (releases)."""
    SlowReplica.held = places = threading.Semaphore(0)
    try:
        yield places
    finally:
        SlowReplica.held = None
        places.release(100)


def _wait_for_arrivals(count: int) -> None:
    wait_until(lambda: len(SlowReplica.arrivals) >= count, timeout=10, what="the arrivals")


def _get(url: str, token: str) -> requests.Response:
    return requests.get(f"{url}/v1/therapists", headers={"Authorization": token}, timeout=30)
