"""Fair queueing in the proxy (ADR 0010): HAProxy, configured by the devkit's balancer, sends a
replica at most a few requests at once; the rest wait in its queue, where the token that has used
the least of its allowance goes first. A slow stand-in replica records the order requests reach
it, so the test sees the queue's order rather than timings."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import free_port, unavailable
from waypoint_devkit.waiting import wait_until

pytestmark = pytest.mark.e2e

SERVICE_SECONDS = 0.3  # each request the stand-in replica serves takes this long
HEAVY_REQUESTS = 3 * balancer.IN_FLIGHT_PER_REPLICA


class SlowReplica(BaseHTTPRequestHandler):
    """Answers every request after SERVICE_SECONDS; notes whose it was as it arrives."""

    arrivals: list[str] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        if self.path != balancer.HEALTH_PATH:
            with self.lock:
                self.arrivals.append(self.headers.get("Authorization", ""))
            time.sleep(SERVICE_SECONDS)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        command = balancer.haproxy_command()
    except RuntimeError as missing:
        unavailable(str(missing))
    var = tmp_path_factory.mktemp("fair-queue")
    replica = ThreadingHTTPServer(("127.0.0.1", 0), SlowReplica)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    front = free_port()
    env = {**os.environ, "WAYPOINT_ENV": "development", "WAYPOINT_RATE_LIMIT": "50"}
    replicas = {"intake": [replica.server_port]}
    text = balancer.configuration({"intake": front}, replicas, free_port(), env)
    config = balancer.write_configuration(var / "haproxy.cfg", text)
    with (var / "haproxy.log").open("ab") as log:
        haproxy = subprocess.Popen(
            [command, "-db", "-f", str(config)], stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://127.0.0.1:{front}"
    try:
        wait_until(lambda: _answers(f"{url}{balancer.HEALTH_PATH}"), timeout=30, what="HAProxy")
        yield url
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
    proxy: str,
) -> None:
    heavy, light = "Bearer heavy-clinic-token", "Bearer light-clinic-token"
    with ThreadPoolExecutor(max_workers=HEAVY_REQUESTS + 1) as pool:
        queued = [
            pool.submit(requests.get, f"{proxy}/v1/therapists", headers={"Authorization": heavy})
            for _ in range(HEAVY_REQUESTS)
        ]
        wait_until(
            lambda: len(SlowReplica.arrivals) >= balancer.IN_FLIGHT_PER_REPLICA,
            timeout=10,
            what="the replica's first requests",
        )
        time.sleep(SERVICE_SECONDS / 3)  # the heavy tenant's others are now queued in HAProxy
        served = pool.submit(
            requests.get, f"{proxy}/v1/therapists", headers={"Authorization": light}
        )
        answers = [f.result(timeout=30) for f in [*queued, served]]

    assert {a.status_code for a in answers} == {200}
    assert SlowReplica.arrivals.index(light) == balancer.IN_FLIGHT_PER_REPLICA, (
        "the light tenant's request should reach the replica as soon as a place frees, "
        f"ahead of the heavy tenant's {HEAVY_REQUESTS - balancer.IN_FLIGHT_PER_REPLICA} queued"
    )
