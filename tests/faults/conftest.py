"""The suite under fault, and a load of real commands against it.

Tests 2 to 5 share one suite on the session's broker (each under a tenant of its own); the
broker-outage test runs its own broker and suite, since it stops the broker.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.faults import REPORTED, Tally
from waypoint_devkit.suite import running_suite, url_of
from waypoint_shared.config import DEVELOPMENT_SECRET, KafkaSettings
from waypoint_shared.http.auth import ALL_SCOPES, mint_token


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked make_faults run only under `make faults` (FAULTS_SCALE set): elsewhere they
    are deselected, not skipped (CI counts no skips)."""
    if "FAULTS_SCALE" in os.environ:
        return
    kept = [item for item in items if item.get_closest_marker("make_faults") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every fault test's tally at the end of the run, passed or not (Jepsen-style)."""
    if REPORTED:
        terminalreporter.section("fault tallies")
        for line in REPORTED:
            terminalreporter.write_line(line)


def start_suite(var_dir: Path, bootstrap: str) -> Any:
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=f"f{uuid.uuid4().hex[:8]}.")
    # Bursts of commands with one token: a rate limit above that load, not none.
    context = running_suite(var_dir, kafka, extra_env={"WAYPOINT_RATE_LIMIT": "10000"})
    suite = context.__enter__()
    suite.var_dir, suite.kafka, suite.context = var_dir, kafka, context
    return suite


@pytest.fixture(scope="package")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    running = start_suite(tmp_path_factory.mktemp("faults"), kafka_bootstrap)
    try:
        yield running
    finally:
        running.context.__exit__(None, None, None)


class Api:
    """Commands and reads of one tenant against the running suite."""

    def __init__(self, suite: Any, tenant: str | None = None):
        self.suite, self.tenant = suite, tenant or f"clinic-{uuid.uuid4().hex[:8]}"
        token = mint_token(DEVELOPMENT_SECRET, "fault-injector", self.tenant, ALL_SCOPES)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        url = url_of(self.suite, f"{service}-web") + path
        return requests.request(method, url, headers=headers, timeout=30, **kw)

    def refer(self) -> str | None:
        """Refer a client; its id once intake acknowledged (2xx), else None."""
        body = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}
        try:
            response = self.call("POST", "intake", "/v1/clients", json=body)
        except requests.RequestException:
            return None  # not acknowledged: the client may or may not exist, and is not counted
        return response.json()["client_id"] if response.status_code == 201 else None


class Referrals:
    """Background load: threads referring clients until stopped; every 2xx goes to the tally."""

    def __init__(self, api: Api, tally: Tally, threads: int = 4, limit: int | None = None):
        self.api, self.tally, self.threads, self.limit = api, tally, threads, limit
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def _work(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if self.limit is not None and self.sent >= self.limit:
                    return
                self.sent += 1
            client_id = self.api.refer()
            if client_id:
                with self.lock:
                    self.tally.acked.add(client_id)

    def __enter__(self) -> Referrals:
        self.futures = [self.pool.submit(self._work) for _ in range(self.threads)]
        return self

    def __exit__(self, *_: object) -> None:
        if self.limit is None:  # a load with a limit runs until it has sent that many
            self.stop.set()
        self.wait()

    def wait(self) -> None:
        for future in self.futures:
            future.result()
        self.pool.shutdown()


def settle(suite: Any, api: Api, tally: Tally, stalled: float = 90) -> None:
    """Wait until intake's relay has published everything and every acknowledged referral is on
    the timeline, then take the timeline's count for the tally. A long run leaves a long backlog
    (tens of thousands of records, republished ones too), so the wait lasts as long as the relay
    and the projector make headway, and ends once either has made none for `stalled` seconds:
    what is missing then is lost, not late."""
    from waypoint_devkit.faults import relay_backlog, timeline_entries

    def referred() -> Any:
        return timeline_entries(suite.var_dir, api.tenant, "client_referred")

    wait_while_moving(lambda: relay_backlog(suite.var_dir, "intake"), lambda n: n == 0, stalled)
    wait_while_moving(lambda: referred(), lambda seen: tally.acked <= set(seen), stalled)
    tally.projected = referred()


def wait_while_moving(read: Any, done: Any, stalled: float, interval: float = 0.2) -> None:
    """Read until `done(value)`, or until the value has not changed for `stalled` seconds."""
    last, since = read(), time.monotonic()
    while not done(last) and time.monotonic() - since < stalled:
        time.sleep(interval)
        value = read()
        if value != last:
            last, since = value, time.monotonic()
