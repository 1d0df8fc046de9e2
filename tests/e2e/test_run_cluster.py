"""`make run-cluster` as an operator runs it: three Kafka brokers whose topics keep three replicas
and need two in sync, PostgreSQL under every service, two replicas of every web process behind
HAProxy on each service's one address, two of every worker; a journey goes through, and Ctrl-C
leaves no process and no port behind."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from sqlalchemy import create_engine, text

from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.journey import GAD7_6, PHQ9_8
from waypoint_devkit.waiting import wait_until

from .test_make_run import assert_all_stopped, ctrl_c, descendants, journey, make_run, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(600)]
SERVICES = ("intake", "goals", "progress")
REPLICAS = 2


def cluster_ports() -> dict[str, int]:
    """One free port for every listener of the cluster, named by what it is."""
    chosen = {f"{s.upper()}_WEB_PORT": free_port() for s in SERVICES}
    for service in SERVICES:
        for kind in ("WEB", "WORKER"):
            for replica in range(1, REPLICAS + 1):
                chosen[f"{service.upper()}_{kind}_{replica}"] = free_port()
    for replica in range(1, REPLICAS + 1):
        chosen[f"PROGRESS_WEBHOOK_WORKER_{replica}"] = free_port()
    for node in range(1, 4):
        chosen[f"KAFKA_{node}"] = free_port()
        chosen[f"KAFKA_CONTROLLER_{node}"] = free_port()
    chosen["WAYPOINT_POSTGRES_PORT"] = free_port()
    chosen["WAYPOINT_HAPROXY_STATS_PORT"] = free_port()
    return chosen


def port_lists(ports: dict[str, int]) -> dict[str, str]:
    """The replicas' and the brokers' ports as the launcher's lists (make_run sets the others)."""

    def listed(*names: str) -> str:
        return ",".join(str(ports[name]) for name in names)

    env = {}
    for service in (s.upper() for s in SERVICES):
        for kind in ("WEB", "WORKER"):
            replicas = [f"{service}_{kind}_{r}" for r in range(1, REPLICAS + 1)]
            env[f"{service}_{kind}_REPLICA_PORTS"] = listed(*replicas)
    hooks = [f"PROGRESS_WEBHOOK_WORKER_{r}" for r in range(1, REPLICAS + 1)]
    env["PROGRESS_WEBHOOK_WORKER_REPLICA_PORTS"] = listed(*hooks)
    env["WAYPOINT_KAFKA_PORTS"] = listed("KAFKA_1", "KAFKA_2", "KAFKA_3")
    env["WAYPOINT_KAFKA_CONTROLLER_PORTS"] = listed(*(f"KAFKA_CONTROLLER_{n}" for n in (1, 2, 3)))
    return env


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """A var dir of the test's own, with a short path (PostgreSQL's socket lives under it) that
    no other pytest session's clean-up of old temporary folders moves while the cluster runs."""
    path = Path(tempfile.mkdtemp(prefix="waypoint-cluster-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_run_cluster_replicates_balances_and_stops_clean(tmp_path: Path, var_dir: Path) -> None:
    ports = cluster_ports()
    started = time.monotonic()
    make, output = make_run(
        tmp_path,
        ports,
        target="run-cluster",
        WAYPOINT_ENV="development",
        WAYPOINT_VAR_DIR=str(var_dir),
        **port_lists(ports),
    )
    try:
        wait_ready(make, output, timeout=420)
        print(f"make run-cluster was ready in {time.monotonic() - started:.0f}s")
        said = output.read_text()
        assert "(SASL/SCRAM, ACLs)" in said, "the cluster's brokers are the secured ones"
        token = re.search(r"^\s+(ey[\w-]+\.[\w-]+\.[\w-]+)$", said, re.M)
        assert token, "make run-cluster prints a development token"
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        client_id = journey(ports, headers)
        record_session_and_see_it(ports, headers, client_id)
        assert_replicated_three_times_two_in_sync(var_dir, ports)
        assert_each_front_balances_over_both_replicas(ports)
        assert_one_relay_and_two_consumers_each(var_dir, ports)
        children = descendants(make.pid)
        assert len(children) >= 3 * 2 * REPLICAS + 3 + 1  # replicas, brokers, HAProxy
    finally:
        ctrl_c(make)
    assert_all_stopped(children, ports)


def record_session_and_see_it(
    ports: dict[str, int], headers: dict[str, str], client_id: str
) -> None:
    progress = f"http://127.0.0.1:{ports['PROGRESS_WEB_PORT']}"
    session: dict[str, Any] = {
        "date": date.today().isoformat(),
        "attended": True,
        "measures": [
            {"instrument": "PHQ-9", "items": PHQ9_8},
            {"instrument": "GAD-7", "items": GAD7_6},
        ],
    }
    recorded = requests.post(
        f"{progress}/v1/clients/{client_id}/sessions", json=session, headers=headers, timeout=10
    )
    assert recorded.status_code == 201, recorded.text

    def on_timeline() -> bool:
        timeline = requests.get(
            f"{progress}/v1/clients/{client_id}/timeline", headers=headers, timeout=10
        )
        return "session_recorded" in [entry["type"] for entry in timeline.json()["items"]]

    wait_until(on_timeline, timeout=15, what="the session on the timeline")


def admin_client(var_dir: Path, ports: dict[str, int]) -> KafkaAdminClient:
    """The admin principal, as an operator holding var/kafka-cluster/credentials.json is."""
    password = json.loads((var_dir / "kafka-cluster" / "credentials.json").read_text())["admin"]
    return KafkaAdminClient(
        bootstrap_servers=[f"127.0.0.1:{ports[f'KAFKA_{n}']}" for n in (1, 2, 3)],
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="admin",
        sasl_plain_password=password,
    )


def assert_replicated_three_times_two_in_sync(var_dir: Path, ports: dict[str, int]) -> None:
    admin = admin_client(var_dir, ports)
    try:
        topics = admin.list_topics()
        assert {"waypoint.intake.events", "__consumer_offsets"} <= set(topics)
        replicas = {
            topic["name"]: {len(p["replica_nodes"]) for p in topic["partitions"]}
            for topic in admin.describe_topics(topics)
        }
        assert replicas == {topic: {3} for topic in topics}
        resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        configs = admin.describe_configs(resources, config_filter="all")["topic"]
        min_insync = {t: configs[t]["min.insync.replicas"]["value"] for t in topics}
        assert min_insync == {topic: "2" for topic in topics}
    finally:
        admin.close()


def assert_each_front_balances_over_both_replicas(ports: dict[str, int]) -> None:
    """HAProxy names the replica that answered (X-Served-By); round-robin uses both."""
    for service in SERVICES:
        front = f"http://127.0.0.1:{ports[f'{service.upper()}_WEB_PORT']}/health/ready"
        served_by = {requests.get(front, timeout=5).headers["X-Served-By"] for _ in range(6)}
        assert served_by == {f"{service}-web-{r}" for r in range(1, REPLICAS + 1)}


def assert_one_relay_and_two_consumers_each(var_dir: Path, ports: dict[str, int]) -> None:
    """Of two workers per service one relays (it holds the database's advisory lock) and both
    consume, each its share of the partitions of the service's group."""
    engine = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{ports['WAYPOINT_POSTGRES_PORT']}/postgres"
    )
    locks = text(
        "SELECT d.datname, count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted GROUP BY d.datname"
    )
    try:
        with engine.connect() as conn:
            held = {name: count for name, count in conn.execute(locks)}
    finally:
        engine.dispose()
    assert held == {service: 1 for service in SERVICES}
    admin = admin_client(var_dir, ports)
    try:
        groups = admin.describe_groups(["waypoint-goals", "waypoint-progress"])
        members = {name: len(group["members"]) for name, group in groups.items()}
    finally:
        admin.close()
    assert members == {"waypoint-goals": REPLICAS, "waypoint-progress": REPLICAS}
