"""Run the whole suite on this machine: Apache Kafka, and per service a gunicorn `web` process
and a `worker` process, on SQLite files under var/. Ctrl-C stops everything.

    .venv/bin/python -m waypoint_devkit.launcher   # what `make run` does after setting up

Every port and path can be overridden by the environment: INTAKE_WEB_PORT,
INTAKE_WORKER_PORT, … , WAYPOINT_KAFKA_PORT, WAYPOINT_VAR_DIR; with KAFKA_BOOTSTRAP_SERVERS set,
an existing broker is used and none is started.

The broker it starts authenticates every client (SASL/SCRAM-SHA-512) and authorises by ACL: each
service runs as its own principal, allowed to write only its own topics (ADR 0007); the passwords
are generated per var dir (var/kafka/credentials.json). WAYPOINT_KAFKA_SASL=off starts it without.

It runs in development (`WAYPOINT_ENV=development`) unless the caller set WAYPOINT_ENV: with
`WAYPOINT_ENV=production` it refuses to start anything until the secrets are set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from waypoint_devkit.local_kafka import LocalKafka
from waypoint_shared.config import KafkaSettings, UnsafeConfiguration, process_settings

SERVICES = {"intake": (8001, 8101), "goals": (8002, 8102), "progress": (8003, 8103)}
BIN = Path(sys.executable).parent
ADMIN_CREDENTIALS = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")  # never handed to the suite


def ports(env: dict[str, str], service: str) -> tuple[int, int]:
    web, worker = SERVICES[service]
    prefix = service.upper()
    return int(env.get(f"{prefix}_WEB_PORT", web)), int(env.get(f"{prefix}_WORKER_PORT", worker))


class Suite:
    """The six processes of the suite, started and stopped together."""

    def __init__(self, env: dict[str, str], log_dir: Path | None = None):
        self.env, self.log_dir = env, log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.var_dir: Path | None = None  # set by the tests' running_suite
        self.kafka: KafkaSettings | None = None

    def start(self) -> Suite:
        for service in SERVICES:
            web, _ = ports(self.env, service)
            app = f"waypoint_{service}.entrypoints.app:create_app()"
            self._spawn(
                f"{service}-web",
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    "python:waypoint_shared.http.gunicorn_conf",
                    "--bind",
                    f"127.0.0.1:{web}",
                    app,
                ],
            )
            self._spawn(f"{service}-worker", [str(BIN / f"waypoint-{service}-worker")])
        return self

    def _spawn(self, name: str, command: list[str]) -> None:
        service = name.split("-")[0]
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[name] = subprocess.Popen(
            command,
            env=own_environment(self.env, service),
            cwd=Path.cwd(),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            # Its own process group: Ctrl-C reaches the launcher only, which stops each group
            # in order, and a group kill takes gunicorn's workers along with their arbiter.
            start_new_session=True,
        )

    def urls(self) -> dict[str, str]:
        out = {}
        for service in SERVICES:
            web, worker = ports(self.env, service)
            out[f"{service}-web"] = f"http://127.0.0.1:{web}"
            out[f"{service}-worker"] = f"http://127.0.0.1:{worker}"
        return out

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name, url in self.urls().items():
            while not _answers(f"{url}/health/ready"):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} was not ready at {url} after {timeout}s")
                time.sleep(0.2)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}{self._last_lines(name)}"
                )

    def _last_lines(self, name: str, count: int = 5) -> str:
        """The end of a process's log, to say why it stopped."""
        if self.log_dir is None or not (self.log_dir / f"{name}.log").exists():
            return ""
        lines = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
        return "; its log ends:\n" + "\n".join(lines[-count:])

    def stop(self, timeout: float = 25) -> None:
        """SIGTERM every process (gunicorn finishes in-flight requests), SIGKILL stragglers; then
        SIGKILL what is left of each process group (a worker whose arbiter was killed)."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    """Signal a child's process group (its pid: it leads its own session); gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def own_environment(env: dict[str, str], service: str) -> dict[str, str]:
    """The environment without the other services' Kafka credentials: a process holds only its
    own principal's password."""
    others = tuple(f"{s.upper()}_KAFKA_SASL_" for s in SERVICES if s != service)
    return {k: v for k, v in env.items() if not k.startswith(others)}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def refusal(env: dict[str, str]) -> str | None:
    """Why the services would refuse this environment (WAYPOINT_ENV=production), if they would."""
    try:
        for service in SERVICES:
            process_settings(service, env)
    except UnsafeConfiguration as error:
        return str(error)
    return None


def main() -> int:
    env = dict(os.environ)
    env.setdefault("WAYPOINT_ENV", "development")
    var_dir = Path(env.setdefault("WAYPOINT_VAR_DIR", str(Path.cwd() / "var")))
    refused = refusal(env)
    if refused:
        print(refused, file=sys.stderr, flush=True)
        return 2
    kafka = None
    stop_requested: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, _f: stop_requested.append(s))
    admin_env = env
    if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
        port = int(env.get("WAYPOINT_KAFKA_PORT", "9092"))
        kafka = LocalKafka(
            port,
            int(env.get("WAYPOINT_KAFKA_CONTROLLER_PORT", port + 1)),
            var_dir / "kafka",
            sasl=env.get("WAYPOINT_KAFKA_SASL", "on") != "off",
        )
        print(f"starting Apache Kafka on 127.0.0.1:{port} …", flush=True)
        kafka.start()
        admin_env = {**env, **kafka.client_environment()}
        env = {k: v for k, v in admin_env.items() if k not in ADMIN_CREDENTIALS}
    suite = Suite(env, var_dir / "logs")
    try:
        subprocess.run([str(BIN / "waypoint-topics")], env=admin_env, check=True)
        if kafka is not None and kafka.sasl:
            acls = [sys.executable, "-m", "waypoint_shared.messaging.kafka_acls"]
            subprocess.run(acls, env=admin_env, check=True)
        suite.start().wait_ready()
        _print_banner(suite, env)
        while not stop_requested:
            suite._check_alive()
            time.sleep(0.3)
        return 0
    finally:
        print("stopping …", flush=True)
        suite.stop()
        if kafka is not None:
            kafka.stop()
        print("stopped", flush=True)


def _print_banner(suite: Suite, env: dict[str, str]) -> None:
    print("\nWaypoint is running (logs in var/logs/):", flush=True)
    for name, url in suite.urls().items():
        print(f"  {name:16} {url}")
    secured = " (SASL/SCRAM, ACLs)" if env.get("KAFKA_SASL_MECHANISM") else ""
    print(f"  kafka            {env['KAFKA_BOOTSTRAP_SERVERS']}{secured}")
    if env["WAYPOINT_ENV"] == "development":
        token = subprocess.run(
            [str(BIN / "waypoint-token")], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        print(f"\nDevelopment token (all scopes, tenant dev-clinic):\n  {token}")
        print('\nTry:  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/openapi.json')
    else:
        print(f"\nWAYPOINT_ENV={env['WAYPOINT_ENV']}: no token printed (waypoint-admin token).")
    print("Ready. Press Ctrl-C to stop.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
