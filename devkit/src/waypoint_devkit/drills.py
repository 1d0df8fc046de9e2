"""An open-model load of commands across the three services, and the failure drills' checker.

Commands arrive at a fixed rate per service whatever the answers (an open model: a stalled
service does not slow the arrivals down): intake refers new clients; goals proposes one goal and
progress records one session for each client of a pool referred beforehand. Each client gets at
most one command of each kind, so its timeline must show exactly one entry of that kind for every
acknowledged (2xx) command: none is lost, none duplicated. Every answer is kept with its times,
so the drill can say how long service was degraded.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from sqlalchemy import text

from waypoint_devkit.cluster import Cluster
from waypoint_devkit.faults import Tally, poll_until
from waypoint_devkit.journey import GAD7_6, GOAL, PHQ9_8
from waypoint_devkit.launcher import SERVICES
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, mint_token

ENTRY_OF = {"intake": "client_referred", "goals": "goal_proposed", "progress": "session_recorded"}
NOT_KNOWN_YET = 409  # goals and progress have not yet heard of the client: nothing was stored
MEASURES = [{"instrument": "PHQ-9", "items": PHQ9_8}, {"instrument": "GAD-7", "items": GAD7_6}]
REFERRAL = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}


@dataclass(frozen=True)
class Answer:
    service: str
    client_id: str | None  # the command's client (a referral's once answered)
    sent: float  # time.monotonic()
    answered: float
    status: int  # 0: no answer (connection refused, reset, timed out)
    problem: bool  # the body is application/problem+json

    @property
    def acked(self) -> bool:
        return 200 <= self.status < 300


class Commands:
    """One tenant's commands against the cluster's fronts (HAProxy)."""

    def __init__(self, cluster: Cluster, timeout: float = 15):
        self.tenant = f"drill-{uuid.uuid4().hex[:8]}"
        token = mint_token(DEVELOPMENT_SECRET, "failure-drill", self.tenant, ALL_SCOPES)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.fronts = {service: cluster.front(service) for service in SERVICES}
        self.timeout = timeout

    def send(self, service: str, client_id: str | None) -> Answer:
        sent = time.monotonic()
        response = self._post(service, client_id)
        if response is None:
            return Answer(service, client_id, sent, time.monotonic(), 0, False)
        if service == "intake" and response.status_code == 201:
            client_id = response.json()["client_id"]
        kind = response.headers.get("Content-Type", "")
        problem = kind.startswith("application/problem+json")
        return Answer(service, client_id, sent, time.monotonic(), response.status_code, problem)

    def _post(self, service: str, client_id: str | None) -> requests.Response | None:
        """The command's answer (None: none came), a client not known yet asked again."""
        path, body = self._command(service, client_id)
        url = self.fronts[service] + path
        for _ in range(40):
            try:
                response = requests.post(url, json=body, headers=self.headers, timeout=self.timeout)
            except requests.RequestException:
                return None
            if response.status_code != NOT_KNOWN_YET or "not known" not in response.text:
                break
            time.sleep(0.5)  # nothing was stored
        return response

    def _command(self, service: str, client_id: str | None) -> tuple[str, dict[str, Any]]:
        if service == "intake":
            return "/v1/clients", REFERRAL
        if service == "goals":
            return f"/v1/clients/{client_id}/goals", GOAL
        session = {"date": date.today().isoformat(), "attended": True, "measures": MEASURES}
        return f"/v1/clients/{client_id}/sessions", session


@dataclass
class OpenLoad:
    """`rate` commands per second to each service, from a scheduler thread per service, each
    command in a thread of its own pool; goals' and progress' commands take the pool's clients
    in turn (one each per client)."""

    commands: Commands
    pool: list[str]
    rate: float = 2.0
    answers: list[Answer] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.used_up: dict[str, float] = {}  # when goals' or progress' share of the pool ran out
        self.executor = ThreadPoolExecutor(max_workers=96)
        self.schedulers = [
            threading.Thread(target=self._schedule, args=(s,), daemon=True) for s in SERVICES
        ]

    def __enter__(self) -> OpenLoad:
        self.started = time.monotonic()
        for scheduler in self.schedulers:
            scheduler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_event.set()
        for scheduler in self.schedulers:
            scheduler.join()
        self.executor.shutdown(wait=True)
        self.ended = time.monotonic()

    def _schedule(self, service: str) -> None:
        clients: Iterator[str | None] = iter(self.pool) if service != "intake" else _nothing()
        due = time.monotonic()
        while not self.stop_event.is_set():
            client_id = next(clients, "")
            if client_id == "":
                self.used_up[service] = time.monotonic()
                return
            self.executor.submit(self._one, service, client_id)
            due += 1 / self.rate
            self.stop_event.wait(max(0.0, due - time.monotonic()))

    def _one(self, service: str, client_id: str | None) -> None:
        with self.lock:
            self.in_flight += 1
        answer = self.commands.send(service, client_id)
        with self.lock:
            self.in_flight -= 1
            self.answers.append(answer)

    def acked_keys(self) -> set[str]:
        during = {f"{ENTRY_OF[a.service]}/{a.client_id}" for a in self.answers if a.acked}
        return during | {f"client_referred/{client}" for client in self.pool}

    def gaps(self) -> dict[str, float]:
        """Per service, the longest time without an acknowledged answer, from the load's start
        to its end: how long that service was degraded."""
        found = {}
        for service in SERVICES:
            acked = sorted(a.answered for a in self.answers if a.service == service and a.acked)
            times = [self.started, *acked, self.used_up.get(service, self.ended)]
            found[service] = max(later - earlier for earlier, later in itertools.pairwise(times))
        return found

    def failures(self) -> dict[str, Counter[int]]:
        """Per service, the commands not acknowledged, by status (0: no answer)."""
        return {
            service: Counter(a.status for a in self.answers if a.service == service and not a.acked)
            for service in SERVICES
        }


def _nothing() -> Iterator[str | None]:
    while True:
        yield None


def seed_clients(cluster: Cluster, commands: Commands, count: int) -> list[str]:
    """Refer `count` clients and wait until progress has them: goals' and progress' commands of
    the drill then go to clients both services know (or soon will)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: commands.send("intake", None), range(count)))
    clients = [a.client_id for a in answers if a.acked and a.client_id]
    wanted = {f"client_referred/{c}" for c in clients}
    poll_until(lambda: wanted <= set(timeline(cluster, commands.tenant)), timeout=120)
    return clients


def timeline(cluster: Cluster, tenant: str) -> Counter[str]:
    """How many entries of each kind the drill's commands have on the tenant's timelines."""
    query = text(
        "SELECT e->>'type', t.client_id FROM timelines t, json_array_elements(t.entries) e "
        "WHERE t.tenant_id = :t AND e->>'type' = ANY(:k)"
    )
    with cluster.database("progress") as conn:
        rows = conn.execute(query, {"t": tenant, "k": list(ENTRY_OF.values())}).all()
    return Counter(f"{kind}/{client}" for kind, client in rows)


def check(cluster: Cluster, load: OpenLoad, tally: Tally, timeout: float = 180) -> None:
    """Wait until every relay has published everything and every acknowledged command is on the
    timeline (or the time is up), then take the timeline's counts for the tally."""
    tally.acked = load.acked_keys()
    for service in SERVICES:
        poll_until(lambda s=service: cluster.relay_backlog(s) == 0, timeout=timeout, interval=0.5)
    poll_until(
        lambda: tally.acked <= set(timeline(cluster, load.commands.tenant)),
        timeout=timeout,
        interval=0.5,
    )
    tally.projected = timeline(cluster, load.commands.tenant)
