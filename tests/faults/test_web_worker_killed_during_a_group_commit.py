"""Fault 6: a gunicorn worker of intake's web process SIGKILLed again and again in the middle of
a group commit (while it holds the SQLite file's write lock), under concurrent referrals.

Every referral answered 201 is stored, whole; every other one is either stored whole or absent;
nothing is stored that was not sent. "Whole" means its `client_referred` event, its place in the
client list, its external id and its data key, all or none (they are one command's writes).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.faults import Tally, query, scale
from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, mint_token

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240 + 60 * scale())]
KILLS, SENDERS = 4 * scale(), 16
BIN = Path(sys.executable).parent


@pytest.fixture
def intake_web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """intake's web process alone (2 gthread workers of 8 threads, as in production), its URL
    and its database file."""
    port = free_port()
    env = {
        **os.environ,
        "WAYPOINT_ENV": "development",
        "WAYPOINT_VAR_DIR": str(tmp_path),
        "WAYPOINT_RATE_LIMIT": "100000",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "8",
        "WAYPOINT_LOG_LEVEL": "WARNING",
    }
    env.pop("INTAKE_DATABASE_URL", None)
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "python:waypoint_shared.http.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "waypoint_intake.entrypoints.app:create_app()",
    ]
    log = (tmp_path / "intake-web.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _live(url), timeout=90, what="intake's web process")
        yield url, tmp_path / "intake.db"
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _live(url: str) -> bool:
    try:
        return requests.get(f"{url}/health/live", timeout=2).ok
    except requests.RequestException:
        return False


def writer_pid(database: Path) -> int | None:
    """The process holding the flock of `<database>.writers` (inside a write transaction)."""
    inode = os.stat(f"{database}.writers").st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "FLOCK" in fields and re.search(rf":{inode}$", fields[-3]):
            return int(fields[-4])
    return None


class Referrals:
    """SENDERS threads referring clients, each with an external id of its own."""

    def __init__(self, url: str, tenant: str):
        token = mint_token(DEVELOPMENT_SECRET, "fault-injector", tenant, ALL_SCOPES)
        self.url, self.headers = url, {"Authorization": f"Bearer {token}"}
        self.stop, self.lock = threading.Event(), threading.Lock()
        self.sent: set[str] = set()
        self.acked: dict[str, str] = {}  # external id → client id answered with 201
        self.in_flight = 0

    def send_until_stopped(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                self._refer(session, f"ext-{uuid.uuid4().hex}")

    def _refer(self, session: requests.Session, external_id: str) -> None:
        body = {
            "given_name": "Amara",
            "family_name": "Osei",
            "date_of_birth": "1992-06-30",
            "external_id": external_id,
        }
        with self.lock:
            self.sent.add(external_id)
            self.in_flight += 1
        try:
            answer = session.post(
                f"{self.url}/v1/clients", json=body, headers=self.headers, timeout=30
            )
        except requests.RequestException:
            return  # not acknowledged: may or may not be stored, but whole if it is
        finally:
            with self.lock:
                self.in_flight -= 1
        if answer.status_code == 201:
            with self.lock:
                self.acked[external_id] = answer.json()["client_id"]

    def find(self, external_id: str) -> str | None:
        answer = requests.get(
            f"{self.url}/v1/clients",
            params={"external_id": external_id},
            headers=self.headers,
            timeout=30,
        )
        items = answer.json()["items"]
        return items[0]["client_id"] if items else None


def kill_the_writer(database: Path, load: Referrals, tally: Tally) -> None:
    """SIGKILL the worker that holds the write lock, the moment one does with commands in flight."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = writer_pid(database)
        if pid is not None and pid != os.getpid() and load.in_flight > 1:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            tally.fault(in_flight=True)
            return
        time.sleep(0.0005)
    tally.fault(in_flight=False)


def wait_for_more_acknowledged(load: Referrals, more: int) -> None:
    """Until the killed worker's replacement (or the other worker) answers again."""
    before = len(load.acked)
    wait_until(lambda: len(load.acked) >= before + more, timeout=60, what="answers again")


def stored(database: Path, tenant: str) -> dict[str, set[str]]:
    """The clients of the tenant each table of a referral holds."""
    tables = {
        "events": "SELECT client_id FROM events WHERE tenant_id = ? AND type LIKE ?",
        "client_index": "SELECT client_id FROM client_index WHERE tenant_id = ?",
        "external_ids": "SELECT client_id FROM external_ids WHERE tenant_id = ?",
        "data_keys": "SELECT client_id FROM data_keys WHERE tenant_id = ?",
    }
    found = {}
    for table, sql in tables.items():
        args: tuple[Any, ...] = (tenant, "%client_referred%") if table == "events" else (tenant,)
        found[table] = {row[0] for row in query(database, sql, *args)}
    return found


def test_a_web_worker_killed_in_a_group_commit_keeps_every_acknowledged_command_whole(
    intake_web: tuple[str, Path],
) -> None:
    url, database = intake_web
    tenant = f"clinic-{uuid.uuid4().hex[:8]}"
    load, tally = Referrals(url, tenant), Tally("web worker SIGKILL in a group commit")
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        senders = [pool.submit(load.send_until_stopped) for _ in range(SENDERS)]
        wait_until(lambda: len(load.acked) >= 20, timeout=60, what="referrals acknowledged")
        for _ in range(KILLS):
            kill_the_writer(database, load, tally)
            wait_for_more_acknowledged(load, 10)
        load.stop.set()
        for sender in senders:
            sender.result()

    tables = stored(database, tenant)
    referred = tables["events"]
    tally.acked = set(load.acked.values())
    tally.projected.update(referred)
    found = {external_id: load.find(external_id) for external_id in load.sent - set(load.acked)}
    unacked_stored = {client for client in found.values() if client}
    tally.report(sent=len(load.sent), unacknowledged_but_stored=len(unacked_stored))

    assert all(clients == referred for clients in tables.values()), "a referral stored in part"
    assert referred == tally.acked | unacked_stored, "a referral stored that was never sent"
    tally.assert_sound(at_least=KILLS)
