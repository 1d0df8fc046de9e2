"""The cluster of `make run-cluster`, started by a test on ports of its own, and what the failure
drills (tests/faults/test_cluster_drills.py) find and kill in it: the leader of the busiest
partition, the active controller, a web or worker replica, the worker holding a relay's lock,
PostgreSQL.

    with running_cluster(Path(tempfile.mkdtemp(prefix="waypoint-drills-"))) as cluster:
        leader = cluster.busiest_partition().leader
        cluster.kafka_node(leader).kill()
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from sqlalchemy import Connection, create_engine, text

from waypoint_devkit.infrastructure import free_port
from waypoint_devkit.launcher import SERVICES, Topology, start_topology
from waypoint_devkit.local_kafka import KafkaCluster, LocalKafka
from waypoint_devkit.local_postgres import LocalPostgres
from waypoint_devkit.waiting import wait_until
from waypoint_shared.messaging.relay import ADVISORY_LOCK_KEY

REPLICAS = 2
NODES = 3
ESTABLISHED = "01"  # a TCP socket's state in /proc/net/tcp


def cluster_environment(var_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with a free port for every listener of the cluster (never the
    defaults another run may hold), the var dir, and `extra`."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_PORT", "_PORTS", "_DATABASE_URL"))
        and not k.startswith("KAFKA_")
        and "_KAFKA_SASL_" not in k
    }

    def ports(count: int) -> str:
        return ",".join(str(free_port()) for _ in range(count))

    env = {**inherited, "WAYPOINT_ENV": "development", "WAYPOINT_VAR_DIR": str(var_dir)}
    env["WEB_CONCURRENCY"] = "1"
    for service in (s.upper() for s in SERVICES):
        env[f"{service}_WEB_PORT"] = ports(1)
        env[f"{service}_WORKER_PORT"] = ports(1)
        env[f"{service}_WEB_REPLICA_PORTS"] = ports(REPLICAS)
        env[f"{service}_WORKER_REPLICA_PORTS"] = ports(REPLICAS)
    env["PROGRESS_WEBHOOK_WORKER_REPLICA_PORTS"] = ports(REPLICAS)
    env["WAYPOINT_KAFKA_PORTS"] = ports(NODES)
    env["WAYPOINT_KAFKA_CONTROLLER_PORTS"] = ports(NODES)
    env["WAYPOINT_POSTGRES_PORT"] = ports(1)
    env["WAYPOINT_HAPROXY_STATS_PORT"] = ports(1)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_cluster(var_dir: Path, extra: Mapping[str, str] | None = None) -> Iterator[Cluster]:
    """Start everything `make run-cluster` starts, wait until ready, stop it all afterwards."""
    with contextlib.ExitStack() as running:
        env = cluster_environment(var_dir, extra)
        yield Cluster(start_topology(env, var_dir, True, running), var_dir)


@dataclass(frozen=True)
class Partition:
    topic: str
    partition: int
    leader: int  # node id
    end_offset: int


@dataclass
class Cluster:
    topology: Topology
    var_dir: Path

    @property
    def suite(self) -> Any:
        return self.topology.suite

    @property
    def kafka(self) -> KafkaCluster:
        assert isinstance(self.topology.kafka, KafkaCluster)
        return self.topology.kafka

    @property
    def postgres(self) -> LocalPostgres:
        assert self.topology.postgres is not None
        return self.topology.postgres

    def kafka_node(self, node_id: int) -> LocalKafka:
        return self.kafka.nodes[node_id - 1]

    def front(self, service: str) -> str:
        """The service's one address (HAProxy's)."""
        return str(self.suite.urls()[f"{service}-web"])

    # --- Kafka, as the admin principal ------------------------------------------------------

    def _admin_settings(self) -> dict[str, Any]:
        credentials = self.var_dir / "kafka-cluster" / "credentials.json"
        return {
            "bootstrap_servers": self.kafka.bootstrap.split(","),
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "admin",
            "sasl_plain_password": json.loads(credentials.read_text())["admin"],
        }

    @contextlib.contextmanager
    def admin(self) -> Iterator[KafkaAdminClient]:
        client = KafkaAdminClient(**self._admin_settings())
        try:
            yield client
        finally:
            client.close()

    def busiest_partition(self) -> Partition:
        """The partition of the suite's topics holding the most records, with its leader."""
        with self.admin() as admin:
            topics = [t for t in admin.list_topics() if not t.startswith("__")]
            described = admin.describe_topics(topics)
        leaders = {
            TopicPartition(topic["name"], p["partition_index"]): p["leader_id"]
            for topic in described
            for p in topic["partitions"]
        }
        consumer = KafkaConsumer(**self._admin_settings())
        try:
            ends = consumer.end_offsets(list(leaders))
        finally:
            consumer.close()
        busiest = max(ends, key=lambda tp: ends[tp])
        return Partition(busiest.topic, busiest.partition, leaders[busiest], ends[busiest])

    def active_controller(self) -> int:
        """The node leading the KRaft metadata quorum (DescribeQuorum)."""
        with self.admin() as admin:
            quorum = admin.describe_metadata_quorum()  # type: ignore[no-untyped-call]
        return int(_leader_of(quorum))

    def under_replicated(self) -> int:
        """Partitions of the suite's topics with fewer in-sync replicas than replicas."""
        with self.admin() as admin:
            described = admin.describe_topics(admin.list_topics())
        return sum(
            len(p["isr_nodes"]) < len(p["replica_nodes"])
            for topic in described
            for p in topic["partitions"]
        )

    def group_members(self, group: str) -> int:
        """How many consumers the coordinator counts in the group (a killed one until its
        session times out)."""
        with self.admin() as admin:
            described = admin.describe_groups([group])
        return len(described[group]["members"])

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        """Every partition of the topics, with its end offset."""
        with self.admin() as admin:
            described = admin.describe_topics(topics)
        partitions = [
            TopicPartition(t["name"], p["partition_index"])
            for t in described
            for p in t["partitions"]
        ]
        consumer = KafkaConsumer(**self._admin_settings())
        try:
            ends = consumer.end_offsets(partitions)
        finally:
            consumer.close()
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    # --- PostgreSQL -------------------------------------------------------------------------

    def consumed(self, service: str) -> dict[str, dict[tuple[str, int], int]]:
        """Per consumer group of the service, the next offset it stored for each partition."""
        query = text("SELECT consumer_group, topic, partition, next_offset FROM consumer_offsets")
        found: dict[str, dict[tuple[str, int], int]] = {}
        with self.database(service) as conn:
            for group, topic, partition, offset in conn.execute(query):
                found.setdefault(group, {})[(topic, partition)] = int(offset)
        return found

    def database_url(self, service: str) -> str:
        return str(self.suite.env[f"{service.upper()}_DATABASE_URL"])

    @contextlib.contextmanager
    def database(self, service: str) -> Iterator[Connection]:
        engine = create_engine(self.database_url(service), pool_size=1)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def relay_backlog(self, service: str) -> int:
        """Events stored but not yet published by the service's relay."""
        with self.database(service) as conn:
            last = conn.execute(text("SELECT coalesce(max(position), 0) FROM events")).scalar()
            published = conn.execute(text("SELECT max(position) FROM relay_position")).scalar()
        return int(last or 0) - int(published or 0)

    def relay_holder(self, service: str) -> str:
        """The worker replica whose session holds the service's relay lock: the advisory lock's
        backend pid, its client port, the process with a socket on that port."""
        holding = text(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :key "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        with self.database(service) as conn:
            port = conn.execute(holding, {"key": ADVISORY_LOCK_KEY}).scalar_one()
        inode = _socket_inode(int(port))
        for name in (f"{service}-worker-{r}" for r in range(1, REPLICAS + 1)):
            process = self.suite.processes[name]
            if process.poll() is None and inode in _socket_inodes(process.pid):
                return name
        raise LookupError(f"no {service} worker holds the socket of port {port}")

    def restart_postgres(self, down_seconds: float = 0) -> None:
        """Stop PostgreSQL (fast shutdown: sessions are ended) and start it again."""
        self.postgres.stop()
        time.sleep(down_seconds)
        self.postgres.start()

    # --- replicas ---------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL a replica's whole process group (gunicorn's workers with their arbiter)."""
        process = self.suite.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def restart(self, *names: str) -> None:
        """Start killed replicas again and wait until every replica is ready."""
        for name in names:
            service = name.split("-")[0]
            for replica in self.suite.replicas_of(service):
                if name == replica.web:
                    self.suite.start_web(service, replica)
                elif name == replica.worker:
                    self.suite.start_worker(service, replica)
                elif name == replica.worker.replace("-worker", "-webhooks"):
                    self.suite.start_webhooks(replica)
        self.suite.wait_ready(timeout=120)

    def kill_all(self) -> None:
        """SIGKILL every replica, HAProxy and broker: a test's cluster, whose var dir goes next,
        needs no clean shutdown (the suite's and brokers' graceful stops then have nothing left
        to stop)."""
        for name in self.suite.processes:
            self.kill(name)
        for node in self.kafka.nodes:
            node.kill()

    def wait_whole(self, timeout: float = 180) -> None:
        """Until every broker runs and every partition is fully in sync, every replica ready."""
        for node in self.kafka.nodes:
            if not node.is_running():
                node.start(timeout)
        wait_until(lambda: self.under_replicated() == 0, timeout, 1.0, "every replica in sync")
        self.suite.wait_ready(timeout=timeout)


def _leader_of(quorum: Mapping[str, Any]) -> int:
    """The leader id in a DescribeQuorum response (its topics' one partition)."""
    for topic in quorum.get("topics", []):
        for partition in topic.get("partitions", []):
            return int(partition["leader_id"])
    raise LookupError(f"no quorum leader in {quorum}")


def _socket_inode(port: int) -> str:
    """The inode of the established local TCP socket bound to 127.0.0.1:port (/proc/net/tcp); an
    earlier connection from the same port may linger in TIME_WAIT, with no inode (0)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == ESTABLISHED and fields[9] != "0":
            return fields[9]
    raise LookupError(f"no socket on 127.0.0.1:{port}")


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(target[8:-1])
    return found
