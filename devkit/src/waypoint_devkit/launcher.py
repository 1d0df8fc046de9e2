"""Run the whole suite on this machine: Apache Kafka, and per service a gunicorn `web` process
and a `worker` process (and for progress its webhook delivery worker, `progress-webhooks`, health
on PROGRESS_WEBHOOK_WORKER_PORT, 8203), on SQLite files under var/. Ctrl-C stops everything.

    .venv/bin/python -m waypoint_devkit.launcher   # what `make run` does after setting up

Every port and path can be overridden by the environment: INTAKE_WEB_PORT,
INTAKE_WORKER_PORT, … , WAYPOINT_KAFKA_PORT, WAYPOINT_VAR_DIR; with KAFKA_BOOTSTRAP_SERVERS set,
an existing broker is used and none is started.

The broker it starts authenticates every client (SASL/SCRAM-SHA-512) and authorises by ACL: each
service runs as its own principal, allowed to write only its own topics (ADR 0007); the passwords
are generated per var dir (var/kafka/credentials.json). WAYPOINT_KAFKA_SASL=off starts it without.

It runs in development (`WAYPOINT_ENV=development`) unless the caller set WAYPOINT_ENV: with
`WAYPOINT_ENV=production` it refuses to start anything until the secrets are set.

With `--cluster` (`make run-cluster`) it runs the same suite the way production does, in miniature:
a three-node Kafka cluster (var/kafka-cluster/node-1..3 on 9092/9093, 9094/9095, 9096/9097; topics
with replication factor 3 and min.insync.replicas 2), PostgreSQL as every service's store
(var/postgres on WAYPOINT_POSTGRES_PORT, 55432), two replicas of every web process (ports +10000
and +20000: 18001 and 28001 for intake) behind HAProxy on the usual ports 8001-8003 (statistics on
WAYPOINT_HAPROXY_STATS_PORT, 8404), and two replicas of every worker (health on 18101 and 28101
…). Replica ports can be set as lists: INTAKE_WEB_REPLICA_PORTS=18001,28001,
INTAKE_WORKER_REPLICA_PORTS=…, PROGRESS_WEBHOOK_WORKER_REPLICA_PORTS=…; the brokers' as
WAYPOINT_KAFKA_PORTS and WAYPOINT_KAFKA_CONTROLLER_PORTS. Each web replica runs WEB_CONCURRENCY
gunicorn workers, 1 unless set: the replicas are the redundancy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from waypoint_devkit import balancer
from waypoint_devkit.local_kafka import KafkaCluster, LocalKafka, cluster_ports
from waypoint_devkit.local_postgres import LocalPostgres
from waypoint_shared.config import KafkaSettings, UnsafeConfiguration, process_settings

SERVICES = {"intake": (8001, 8101), "goals": (8002, 8102), "progress": (8003, 8103)}
WEBHOOKS = ("progress", "PROGRESS_WEBHOOK_WORKER_PORT", 8203)  # progress's delivery worker
BIN = Path(sys.executable).parent
ADMIN_CREDENTIALS = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")  # never handed to the suite
CLUSTER_REPLICAS = 2  # of every web and worker process in a cluster
REPLICA_PORT_STEP = 10_000  # replica i of a process on port p listens on p + i * 10000


def ports(env: dict[str, str], service: str) -> tuple[int, int]:
    web, worker = SERVICES[service]
    prefix = service.upper()
    return int(env.get(f"{prefix}_WEB_PORT", web)), int(env.get(f"{prefix}_WORKER_PORT", worker))


def replica_ports(env: dict[str, str], variable: str, port: int, count: int) -> list[int]:
    """The ports of a process's replicas: the list in `variable`, else port + 10000, + 20000 …"""
    listed = env.get(variable)
    if listed:
        return [int(p) for p in listed.split(",")][:count]
    return [port + REPLICA_PORT_STEP * i for i in range(1, count + 1)]


@dataclass(frozen=True)
class Replica:
    """One web process and one worker of a service, with what their environments add."""

    web: str  # process names
    worker: str
    web_port: int
    worker_port: int
    web_env: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    webhooks_port: int = 0  # progress's webhook delivery worker, beside its worker


class Suite:
    """The processes of the suite, started and stopped together: a web process and a worker per
    service, or with replicas > 1 that many of each behind HAProxy."""

    def __init__(self, env: dict[str, str], log_dir: Path | None = None, replicas: int = 1):
        self.env, self.log_dir, self.replicas = env, log_dir, replicas
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.var_dir: Path | None = None  # set by the tests' running_suite
        self.kafka: KafkaSettings | None = None

    def start(self) -> Suite:
        for service in SERVICES:
            for replica in self.replicas_of(service):
                self.start_web(service, replica)
                self.start_worker(service, replica)
                if service == WEBHOOKS[0]:
                    self.start_webhooks(replica)
        if self.replicas > 1:
            self._spawn("haproxy", [balancer.haproxy_command(), "-db", "-f", str(self._balance())])
        return self

    def start_web(self, service: str, replica: Replica) -> None:
        """Start (or start again, after it was killed) one web process of a service."""
        app = f"waypoint_{service}.entrypoints.app:create_app()"
        conf = "python:waypoint_shared.http.gunicorn_conf"
        bind = f"127.0.0.1:{replica.web_port}"
        command = [str(BIN / "gunicorn"), "-c", conf, "--bind", bind, app]
        self._spawn(replica.web, command, replica.web_env)

    def start_worker(self, service: str, replica: Replica) -> None:
        """Start (or start again) one worker process of a service."""
        command = [str(BIN / f"waypoint-{service}-worker")]
        self._spawn(replica.worker, command, replica.worker_env)

    def start_webhooks(self, replica: Replica) -> None:
        """Start (or start again) progress's webhook delivery worker of a replica."""
        name = replica.worker.replace("-worker", "-webhooks")
        command = [str(BIN / "waypoint-progress-webhooks")]
        self._spawn(name, command, {WEBHOOKS[1]: str(replica.webhooks_port)})

    def replicas_of(self, service: str) -> list[Replica]:
        web, worker = ports(self.env, service)
        hooks = int(self.env.get(WEBHOOKS[1], WEBHOOKS[2]))
        if self.replicas == 1:
            return [
                Replica(f"{service}-web", f"{service}-worker", web, worker, webhooks_port=hooks)
            ]
        prefix = service.upper()
        webs = replica_ports(self.env, f"{prefix}_WEB_REPLICA_PORTS", web, self.replicas)
        workers = replica_ports(self.env, f"{prefix}_WORKER_REPLICA_PORTS", worker, self.replicas)
        listed = f"{WEBHOOKS[1].removesuffix('_PORT')}_REPLICA_PORTS"
        hooks_ports = replica_ports(self.env, listed, hooks, self.replicas)
        return [
            Replica(
                f"{service}-web-{i}",
                f"{service}-worker-{i}",
                web_port,
                worker_port,
                # Each replica's gunicorn empties its own metrics directory when it starts.
                {"PROMETHEUS_MULTIPROC_DIR": str(self.var / "metrics" / f"{service}-web-{i}")},
                {f"{prefix}_WORKER_PORT": str(worker_port)},
                hooks_port,
            )
            for i, (web_port, worker_port, hooks_port) in enumerate(
                zip(webs, workers, hooks_ports, strict=True), 1
            )
        ]

    @property
    def var(self) -> Path:
        return Path(self.env.get("WAYPOINT_VAR_DIR", "var")).resolve()

    @property
    def stats_port(self) -> int:
        return int(self.env.get("WAYPOINT_HAPROXY_STATS_PORT", "8404"))

    def _balance(self) -> Path:
        """HAProxy's configuration for this suite's replicas (and the services' rate limit), written
        into the var dir."""
        fronts = {service: ports(self.env, service)[0] for service in SERVICES}
        replicas = {s: [r.web_port for r in self.replicas_of(s)] for s in SERVICES}
        text = balancer.configuration(fronts, replicas, self.stats_port, self.env)
        return balancer.write_configuration(self.var / "haproxy" / "haproxy.cfg", text)

    def _spawn(self, name: str, command: list[str], extra: dict[str, str] | None = None) -> None:
        service = name.split("-")[0]
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[name] = subprocess.Popen(
            command,
            env=own_environment({**self.env, **(extra or {})}, service),
            cwd=Path.cwd(),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            # Its own process group: Ctrl-C reaches the launcher only, which stops each group
            # in order, and a group kill takes gunicorn's workers along with their arbiter.
            start_new_session=True,
        )

    def urls(self) -> dict[str, str]:
        """Each service's web address (HAProxy's, with replicas), then every replica's own."""
        out = {}
        for service in SERVICES:
            out[f"{service}-web"] = f"http://127.0.0.1:{ports(self.env, service)[0]}"
            for replica in self.replicas_of(service):
                if self.replicas > 1:
                    out[replica.web] = f"http://127.0.0.1:{replica.web_port}"
                out[replica.worker] = f"http://127.0.0.1:{replica.worker_port}"
                if service == WEBHOOKS[0]:
                    hooks = replica.worker.replace("-worker", "-webhooks")
                    out[hooks] = f"http://127.0.0.1:{replica.webhooks_port}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole suite on this machine.")
    parser.add_argument("--cluster", action="store_true", help="three brokers, replicas, HAProxy")
    cluster = parser.parse_args(argv).cluster
    env = dict(os.environ)
    env.setdefault("WAYPOINT_ENV", "development")
    if cluster:
        env.setdefault("WEB_CONCURRENCY", "1")
    var_dir = Path(env.setdefault("WAYPOINT_VAR_DIR", str(Path.cwd() / "var")))
    refused = refusal(env)
    if refused:
        print(refused, file=sys.stderr, flush=True)
        return 2
    stop_requested: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, _f: stop_requested.append(s))
    try:
        with contextlib.ExitStack() as running:
            try:
                return _run(env, var_dir, cluster, running, stop_requested)
            finally:
                print("stopping …", flush=True)
    finally:
        print("stopped", flush=True)


def _run(
    env: dict[str, str],
    var_dir: Path,
    cluster: bool,
    running: contextlib.ExitStack,
    stop_requested: list[int],
) -> int:
    """Start what the topology needs, then wait for a stop request."""
    suite = start_topology(env, var_dir, cluster, running).suite
    _print_banner(suite, suite.env)
    while not stop_requested:
        suite._check_alive()
        time.sleep(0.3)
    return 0


@dataclass
class Topology:
    """What `start_topology` started: the suite, and the broker(s) and database it runs on."""

    suite: Suite
    kafka: LocalKafka | KafkaCluster | None = None
    postgres: LocalPostgres | None = None


def start_topology(
    env: dict[str, str], var_dir: Path, cluster: bool, running: contextlib.ExitStack
) -> Topology:
    """Start PostgreSQL (cluster), Kafka (unless KAFKA_BOOTSTRAP_SERVERS names one), the topics,
    the ACLs and the suite, each stopped by `running` (the last started first); wait until ready."""
    postgres = None
    with ThreadPoolExecutor(max_workers=1) as starting:  # PostgreSQL starts while Kafka does
        databases = starting.submit(_postgres, env, var_dir) if cluster else None
        kafka = None
        try:
            if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
                kafka = _kafka(env, var_dir, cluster)
                print(f"starting Apache Kafka on {kafka.bootstrap} …", flush=True)
                kafka.start()
                running.callback(kafka.stop)
        finally:
            if databases is not None:
                postgres, urls = databases.result()
                running.callback(postgres.stop)
                env = {**env, **urls}
    admin_env = env
    if kafka is not None:
        admin_env = {**env, **kafka.client_environment()}
        env = {k: v for k, v in admin_env.items() if k not in ADMIN_CREDENTIALS}
    suite = Suite(env, var_dir / "logs", CLUSTER_REPLICAS if cluster else 1)
    running.callback(suite.stop)
    subprocess.run([str(BIN / "waypoint-topics")], env=admin_env, check=True)
    if kafka is not None and kafka.sasl:
        acls = [sys.executable, "-m", "waypoint_shared.messaging.kafka_acls"]
        subprocess.run(acls, env=admin_env, check=True)
    suite.start().wait_ready(timeout=240 if cluster else 60)
    return Topology(suite, kafka, postgres)


def _postgres(env: dict[str, str], var_dir: Path) -> tuple[LocalPostgres, dict[str, str]]:
    """PostgreSQL in var/postgres, a database per service: the server and each service's
    <SERVICE>_DATABASE_URL."""
    port = int(env.get("WAYPOINT_POSTGRES_PORT", "55432"))
    postgres = LocalPostgres(port, var_dir / "postgres")
    print(f"starting PostgreSQL on 127.0.0.1:{port} …", flush=True)
    postgres.start()
    return postgres, {f"{s.upper()}_DATABASE_URL": postgres.create_database(s) for s in SERVICES}


def _kafka(env: dict[str, str], var_dir: Path, cluster: bool) -> LocalKafka | KafkaCluster:
    """The broker `make run` starts, or with `cluster` the three of `make run-cluster`."""
    port = int(env.get("WAYPOINT_KAFKA_PORT", "9092"))
    controller = int(env.get("WAYPOINT_KAFKA_CONTROLLER_PORT", port + 1))
    sasl = env.get("WAYPOINT_KAFKA_SASL", "on") != "off"
    if not cluster:
        return LocalKafka(port, controller, var_dir / "kafka", sasl=sasl)
    brokers, controllers = cluster_ports(port, controller)
    return KafkaCluster(
        _listed(env, "WAYPOINT_KAFKA_PORTS", brokers),
        _listed(env, "WAYPOINT_KAFKA_CONTROLLER_PORTS", controllers),
        var_dir / "kafka-cluster",
        sasl=sasl,
    )


def _listed(env: dict[str, str], variable: str, default: list[int]) -> list[int]:
    return [int(p) for p in env[variable].split(",")] if env.get(variable) else default


def _print_banner(suite: Suite, env: dict[str, str]) -> None:
    print("\nWaypoint is running (logs in var/logs/):", flush=True)
    urls = suite.urls()
    width = max(16, *(len(name) + 1 for name in urls))
    for name, url in urls.items():
        print(f"  {name:{width}} {url}")
    secured = " (SASL/SCRAM, ACLs)" if env.get("KAFKA_SASL_MECHANISM") else ""
    print(f"  {'kafka':{width}} {env['KAFKA_BOOTSTRAP_SERVERS']}{secured}")
    if suite.replicas > 1:
        replication = env.get("WAYPOINT_TOPIC_REPLICATION_FACTOR", "1")
        min_insync = env.get("WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS", "1")
        topics = f"replication factor {replication}, min.insync.replicas {min_insync}"
        print(f"  {'topics':{width}} {topics}")
        print(f"  {'postgresql':{width}} 127.0.0.1:{env.get('WAYPOINT_POSTGRES_PORT', '55432')}")
        print(f"  {'haproxy stats':{width}} http://127.0.0.1:{suite.stats_port}/")
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
