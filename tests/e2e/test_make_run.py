"""`make run` as a new user runs it: the suite comes up, works, and Ctrl-C leaves nothing behind;
with WAYPOINT_ENV=production it refuses to start without real secrets, and starts with them."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.waiting import is_alive, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(420)]
SERVICES = ("intake", "goals", "progress")
SECRETS = ("WAYPOINT_JWT_SECRET", "WAYPOINT_JWT_PUBLIC_KEY", "WAYPOINT_MASTER_KEY")


def descendants(pid: int) -> set[int]:
    """Every live process whose parent chain leads to pid (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def lingering(pids: set[int]) -> list[str]:
    """The command lines of the processes among pids still alive, to say which one stayed."""
    lines = []
    for pid in sorted(p for p in pids if is_alive(p)):
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return lines


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def ports() -> dict[str, int]:
    chosen = {
        f"{s.upper()}_{kind}_PORT": free_port() for s in SERVICES for kind in ("WEB", "WORKER")
    }
    chosen["PROGRESS_WEBHOOK_WORKER_PORT"] = free_port()
    chosen["WAYPOINT_KAFKA_PORT"] = free_port()
    chosen["WAYPOINT_KAFKA_CONTROLLER_PORT"] = free_port()
    return chosen


def make_run(
    tmp_path: Path, ports: dict[str, int], target: str = "run", **variables: str
) -> tuple[Any, Path]:
    """`make run` (or another target) in its own process group, its output in a file."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update({k: str(v) for k, v in ports.items()})
    env["WAYPOINT_VAR_DIR"] = str(tmp_path / "var")
    env.update(variables)
    output = tmp_path / "make-run.out"
    with output.open("wb") as sink:
        make = subprocess.Popen(
            ["make", "--no-print-directory", target],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return make, output


def wait_ready(make: Any, output: Path, timeout: float = 300) -> None:
    wait_until(
        lambda: "Ready." in output.read_text(errors="replace") or make.poll(),
        timeout=timeout,
        interval=0.5,
        what="make run to print Ready.",
    )
    assert make.poll() is None, output.read_text(errors="replace")


def ctrl_c(make: Any) -> None:
    if make.poll() is not None:
        return  # it stopped by itself; its output says why
    os.killpg(make.pid, signal.SIGINT)
    try:
        make.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)
        raise


def production(**secrets: str) -> dict[str, str]:
    """WAYPOINT_ENV=production, the development secrets of this shell left out."""
    unset = {name: "" for name in SECRETS}
    unset.update({f"{s.upper()}_{v}": "" for s in SERVICES for v in ("MASTER_KEY", "PUBLIC_URL")})
    return {**unset, "WAYPOINT_ENV": "production", **secrets}


def test_make_run_serves_a_journey_and_ctrl_c_stops_every_process(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    make, output = make_run(tmp_path, ports, WAYPOINT_ENV="development")
    try:
        wait_ready(make, output)
        token = re.search(r"^\s+(ey[\w-]+\.[\w-]+\.[\w-]+)$", output.read_text(), re.M)
        assert token, "make run prints a development token"
        assert "(SASL/SCRAM, ACLs)" in output.read_text(), "make run's broker is the secured one"
        journey(ports, {"Authorization": f"Bearer {token.group(1)}"})
        children = descendants(make.pid)
        assert len(children) >= 8  # seven suite processes and the broker at least
    finally:
        ctrl_c(make)
    assert_all_stopped(children, ports)


def assert_all_stopped(children: set[int], ports: dict[str, int]) -> None:
    """No process started under `make` is alive, no port it was given is still in use."""
    try:
        wait_until(
            lambda: not [p for p in children if is_alive(p)],
            timeout=30,
            what="every child process, the JVM included, to exit",
        )
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; still alive: {lingering(children)}") from None
    busy = [name for name, port in ports.items() if not port_is_free(port)]
    assert busy == [], f"ports still in use after Ctrl-C: {busy}"


def test_make_run_in_production_without_secrets_exits_within_a_minute_naming_the_jwt_secret(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    make, output = make_run(tmp_path, ports, **production())
    try:
        code = make.wait(timeout=60)  # set-up is already done on this machine: a no-op
    finally:
        ctrl_c(make)
    said = output.read_text(errors="replace")
    assert code != 0, said
    assert "WAYPOINT_JWT_SECRET" in said and "INTAKE_MASTER_KEY" in said, said
    assert "Ready." not in said
    assert [name for name, port in ports.items() if not port_is_free(port)] == []


def test_make_run_in_production_with_its_own_secrets_starts(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    secrets = {
        f"{s.upper()}_MASTER_KEY": base64.b64encode(os.urandom(32)).decode() for s in SERVICES
    }
    secrets.update(
        {f"{s.upper()}_PUBLIC_URL": f"https://{s}.clinic.example" for s in SERVICES},
        WAYPOINT_JWT_SECRET=base64.b64encode(os.urandom(48)).decode(),
    )
    make, output = make_run(tmp_path, ports, **production(**secrets))
    try:
        wait_ready(make, output)
        live = requests.get(f"http://127.0.0.1:{ports['INTAKE_WEB_PORT']}/health/ready", timeout=5)
        assert live.status_code == 200
    finally:
        ctrl_c(make)
    assert "refuses" not in output.read_text(errors="replace")


def journey(ports: dict[str, int], headers: dict[str, str]) -> str:
    """Refer a client, see the journey start on progress's timeline within 2 seconds, propose a
    goal and see it there after; returns the client's id."""
    intake = f"http://127.0.0.1:{ports['INTAKE_WEB_PORT']}"
    goals = f"http://127.0.0.1:{ports['GOALS_WEB_PORT']}"
    progress = f"http://127.0.0.1:{ports['PROGRESS_WEB_PORT']}"
    referral = {"given_name": "Lena", "family_name": "Berg", "date_of_birth": "1979-11-02"}
    referred = requests.post(f"{intake}/v1/clients", json=referral, headers=headers, timeout=5)
    assert referred.status_code == 201, referred.text
    client_id = referred.json()["client_id"]
    started = time.monotonic()
    wait_until(
        lambda: "journey_started" in kinds(progress, client_id, headers),
        timeout=2,
        what="journey started within 2 seconds",
    )
    assert time.monotonic() - started <= 2

    def propose() -> Any:
        response = requests.post(
            f"{goals}/v1/clients/{client_id}/goals",
            headers=headers,
            json={
                "title": "Return to work",
                "modality": "cbt",
                "priority": "high",
                "proposed_by": {"role": "client", "id": "lena"},
            },
            timeout=5,
        )
        return response.status_code == 201

    wait_until(propose, timeout=10, what="the goal to be accepted")
    order = wait_until(
        lambda: (k := kinds(progress, client_id, headers)) and "goal_proposed" in k and k,
        timeout=10,
        what="the goal on the timeline",
    )
    assert order.index("goal_proposed") > order.index("journey_started")
    return str(client_id)


def kinds(progress: str, client_id: str, headers: dict[str, str]) -> list[str]:
    response = requests.get(
        f"{progress}/v1/clients/{client_id}/timeline", headers=headers, timeout=5
    )
    return [e["type"] for e in response.json()["items"]] if response.ok else []
