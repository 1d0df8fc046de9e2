"""What `make run-cluster` configures, checked without starting it: the topics' replication from
the environment, the replicas' ports, and an HAProxy configuration that HAProxy itself accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import free_port, unavailable
from waypoint_devkit.launcher import Suite
from waypoint_devkit.local_kafka import KafkaCluster, cluster_ports
from waypoint_devkit.waiting import wait_until
from waypoint_shared.config import shared_kafka_settings
from waypoint_shared.messaging.topics import suite_topics


def test_topics_take_replication_and_min_insync_replicas_from_the_environment() -> None:
    env = {"WAYPOINT_TOPIC_REPLICATION_FACTOR": "3", "WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS": "2"}
    topics = suite_topics(shared_kafka_settings(env))

    assert {t.replication_factor for t in topics} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in topics} == {"2"}


def test_one_broker_keeps_one_replica_and_one_in_sync() -> None:
    topics = suite_topics(shared_kafka_settings({}))

    assert {(t.replication_factor, t.topic_configs["min.insync.replicas"]) for t in topics} == {
        (1, "1")
    }


def test_the_cluster_tells_its_clients_every_node_and_the_replication(tmp_path: Path) -> None:
    ports, controllers = cluster_ports(9092, 9093)
    cluster = KafkaCluster(ports, controllers, tmp_path / "kafka-cluster")

    env = cluster.client_environment()

    assert ports == [9092, 9094, 9096] and controllers == [9093, 9095, 9097]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert env["WAYPOINT_TOPIC_REPLICATION_FACTOR"] == "3"
    assert env["WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    assert {n.voters for n in cluster.nodes} == {
        "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    }


def test_replicas_listen_ten_and_twenty_thousand_above_the_usual_ports(tmp_path: Path) -> None:
    suite = Suite({"WAYPOINT_VAR_DIR": str(tmp_path)}, replicas=2)

    intake = suite.replicas_of("intake")

    assert [(r.web, r.web_port, r.worker_port) for r in intake] == [
        ("intake-web-1", 18001, 18101),
        ("intake-web-2", 28001, 28101),
    ]
    assert intake[0].worker_env == {"INTAKE_WORKER_PORT": "18101"}
    assert intake[0].web_env["PROMETHEUS_MULTIPROC_DIR"].endswith("metrics/intake-web-1")


def test_haproxy_accepts_the_configuration_and_checks_every_replica(tmp_path: Path) -> None:
    text = balancer.configuration(
        {"intake": 8001, "goals": 8002}, {"intake": [18001, 28001], "goals": [18002, 28002]}, 8404
    )
    config = balancer.write_configuration(tmp_path / "haproxy.cfg", text)

    assert text.count(f" check maxconn {balancer.IN_FLIGHT_PER_REPLICA}\n") == 4
    assert "option httpchk GET /health/ready" in text
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        unavailable("haproxy is not installed (make kafka-jars installs it)")
    checked = subprocess.run(
        [balancer.haproxy_command(), "-c", "-f", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_limits_each_token_at_the_services_own_rate(tmp_path: Path) -> None:
    text = balancer.configuration(
        {"intake": 8001}, {"intake": [18001, 28001]}, 8404, {"WAYPOINT_RATE_LIMIT": "250"}
    )
    config = balancer.write_configuration(tmp_path / "haproxy.cfg", text)

    assert "store gpt0" in text and "add(4000),and(4294967295) if tracked stored ahead" in text
    assert "acl over_limit var(txn.ahead) -m int gt 996000" in text  # 1 s less one interval
    assert "track-sc0 req.fhdr(authorization),sha2(256) if bearer !public" in text  # a hash only
    assert "more than 250 requests per second; retry after %[var(txn.retry_after)] s." in text
    assert (balancer.gcra(100), balancer.gcra(0.5), balancer.gcra(3)) == (
        (10_000, 1_000_000),
        (2_000_000, 1_000_000),
        (333_333, 1_000_000),  # rounded down: the proxy never refuses what a service admits
    )
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        unavailable("haproxy is not installed (make kafka-jars installs it)")
    checked = subprocess.run(
        [balancer.haproxy_command(), "-c", "-f", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_answers_no_replica_ready_with_503_problem_json(tmp_path: Path) -> None:
    """As while the database restarts: every replica fails its check, HAProxy answers itself."""
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        unavailable("haproxy is not installed (make kafka-jars installs it)")
    front, nobody, stats = free_port(), free_port(), free_port()
    text = balancer.configuration({"intake": front}, {"intake": [nobody]}, stats)
    config = balancer.write_configuration(tmp_path / "haproxy.cfg", text)
    haproxy = subprocess.Popen([balancer.haproxy_command(), "-db", "-f", str(config)])
    try:
        url = f"http://127.0.0.1:{front}/v1/clients"
        wait_until(lambda: _answers(url), 10, 0.1, "haproxy listening")
        response = requests.post(url, timeout=5)
    finally:
        haproxy.terminate()
        haproxy.wait(10)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert response.json()["status"] == 503


def _answers(url: str) -> bool:
    try:
        requests.post(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True
