"""A rolling restart under load: SIGTERM and restart each of the six processes in turn while
referrals keep arriving. Web processes finish what they accepted, workers finish their batch,
commit and leave the group; afterwards nothing is lost and nothing is duplicated."""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(400)]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ORDER = [f"{s}-{k}" for s in ("intake", "goals", "progress") for k in ("web", "worker")]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    # A referral every few milliseconds, with retries: a rate limit above that load.
    with own_suite(tmp_path_factory, kafka_bootstrap, "roll", rate_limit=10000) as running:
        yield running


class SteadyReferrals:
    """Refers a client every few milliseconds; retries each with its Idempotency-Key until 2xx."""

    def __init__(self, url: str, token: str):
        self.url, self.headers = url, {"Authorization": f"Bearer {token}"}
        self.stop = threading.Event()
        self.acknowledged: dict[str, str] = {}  # idempotency key -> client id
        self.server_errors: list[int] = []
        self.retries = 0
        self.thread = threading.Thread(target=self._run, name="steady-referrals")

    def _run(self) -> None:
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            self.acknowledged[key] = self._refer(key)
            time.sleep(0.02)

    def _refer(self, key: str) -> str:
        body = {"given_name": "Ada", "family_name": "Roll", "date_of_birth": "1990-01-01"}
        while True:
            try:
                answer = requests.post(
                    f"{self.url}/v1/clients",
                    json=body,
                    headers={**self.headers, "Idempotency-Key": key, "Connection": "close"},
                    timeout=30,
                )
                if answer.status_code in (200, 201):
                    return str(answer.json()["client_id"])
                if answer.status_code >= 500:
                    self.server_errors.append(answer.status_code)
            except requests.ConnectionError:  # not listening: the process is restarting
                pass
            self.retries += 1
            time.sleep(0.05)


def restart(suite: Any, name: str) -> int:
    """SIGTERM one process, wait for it to exit, start it again; returns its exit code."""
    process = suite.processes[name]
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=45)
    suite._spawn(name, command_of(suite, name))
    suite.wait_ready(timeout=60)
    return int(code)


def command_of(suite: Any, name: str) -> list[str]:
    service, kind = name.split("-")
    if kind == "worker":
        return [str(BIN / f"waypoint-{service}-worker")]
    port = url_of(suite, name).rsplit(":", 1)[1]
    app = f"waypoint_{service}.entrypoints.app:create_app()"
    gunicorn_conf = "python:waypoint_shared.http.gunicorn_conf"
    return [str(BIN / "gunicorn"), "-c", gunicorn_conf, "--bind", f"127.0.0.1:{port}", app]


ENTRIES_OF_TYPE = (  # a client a timeline entry of the type, from their row of `timelines`
    "SELECT t.client_id FROM timelines t, json_each(t.entries) e "
    "WHERE json_extract(e.value, '$.type') = '{}'"
)


def rows(suite: Any, service: str, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(suite.var_dir / f"{service}.db") as db:
        return db.execute(query).fetchall()


def test_a_rolling_restart_under_load_loses_nothing_and_duplicates_nothing(
    suite: Any, token: Callable[..., str]
) -> None:
    load = SteadyReferrals(url_of(suite, "intake-web"), token())
    load.thread.start()
    try:
        exit_codes = {}
        for name in ORDER:
            time.sleep(1.0)  # under load before each restart
            exit_codes[name] = restart(suite, name)
        time.sleep(1.0)
    finally:
        load.stop.set()
        load.thread.join(timeout=60)
    acknowledged = set(load.acknowledged.values())
    assert exit_codes == dict.fromkeys(ORDER, 0)  # each one stopped cleanly on SIGTERM
    assert load.server_errors == []
    assert len(acknowledged) == len(load.acknowledged) > len(ORDER)

    referred = "SELECT client_id FROM events WHERE type LIKE '%.client_referred.v_'"
    assert Counter(c for (c,) in rows(suite, "intake", referred)) == Counter(acknowledged)

    def projected() -> list[tuple[Any, ...]]:
        query = ENTRIES_OF_TYPE.format("journey_started")
        found = rows(suite, "progress", query)
        return found if len(found) >= len(acknowledged) else []

    journeys = wait_until(projected, timeout=60, interval=0.5, what="every journey projected")
    assert Counter(c for (c,) in journeys) == Counter(acknowledged)  # lost 0, duplicated 0
    eligible = wait_until(
        lambda: (
            (found := rows(suite, "goals", "SELECT client_id FROM eligibility"))
            and len(found) >= len(acknowledged)
            and found
        ),
        timeout=60,
        interval=0.5,
        what="goals to know every client",
    )
    assert Counter(c for (c,) in eligible) == Counter(acknowledged)
    entries = ENTRIES_OF_TYPE.format("client_referred")
    assert Counter(c for (c,) in rows(suite, "progress", entries)) == Counter(acknowledged)
