"""Run a real single-node Apache Kafka broker (KRaft, combined mode) without Docker.

The broker's jars come from Maven Central through ``kafka/pom.xml`` (next to this module) into an
ignored cache folder (``.cache/kafka/<version>/jars``); Java 17+ runs ``kafka.Kafka`` on 127.0.0.1
only. Standard library only.

    python -m waypoint_devkit.local_kafka fetch
    python -m waypoint_devkit.local_kafka run --port 9092 --controller-port 9093 \
        --data-dir var/kafka

From Python::

    with LocalKafka(port=19092, controller_port=19093, data_dir=tmp / "kafka") as kafka:
        use(kafka.bootstrap)

``KafkaCluster`` runs three such nodes as one cluster (each a combined controller+broker, on its
own ports and data dir, one cluster id and one set of credentials): its internal topics are
replicated three times and a write needs two in-sync replicas (``run --cluster``).

With ``sasl=True`` (``run --sasl``) clients must authenticate with SASL/SCRAM-SHA-512 as one of
the principals ``admin`` (a super user, for topics and ACLs), ``intake``, ``goals``, ``progress``,
whose passwords are generated once per data dir into ``credentials.json`` (mode 600) and
bootstrapped into the metadata log by ``kafka-storage format --add-scram``. The controller listener
(127.0.0.1 only) takes SASL/PLAIN from its own super-user principal ``controller``; the broker
authorises with KRaft's ``StandardAuthorizer`` and refuses whatever no ACL allows (the ACLs
themselves are Waypoint's business: ``python -m waypoint_shared.messaging.kafka_acls``).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from waypoint_devkit.runner import StopRequest, command_line

FILES = Path(__file__).resolve().parent / "kafka"  # pom.xml and log4j2.properties, shipped here
POM = FILES / "pom.xml"
LOG4J_CONFIG = FILES / "log4j2.properties"
MARKER = "jars.complete"  # written after a successful copy; holds the pom's digest
# BrokerLifecycleManager logs this once the controller has unfenced the broker: only then can
# topics with replication factor 1 be created on it.
RUNNING_LINE = re.compile(r"Transitioning from \w+ to RUNNING")
SCRAM = "SCRAM-SHA-512"
PRINCIPALS = ("admin", "intake", "goals", "progress")  # SCRAM users of the client listener
CONTROLLER_USER = "controller"  # the controller listener's (and inter-broker) super user
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


class KafkaError(RuntimeError):
    """The broker, Java or Maven is missing or misbehaving; the message says what to do."""


def kafka_version() -> str:
    """The Kafka version pinned in pom.xml (the one source of truth)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = (
        ElementTree.parse(POM).getroot().findtext("m:properties/m:kafka.version", namespaces=ns)
    )
    if version is None:
        raise KafkaError(f"{POM} names no kafka.version property")
    return version


def default_cache_dir() -> Path:
    """`.cache/kafka/<version>` under the working directory (`make` runs in the repository)."""
    base = Path(os.environ.get("WAYPOINT_CACHE_DIR", Path.cwd() / ".cache"))
    return base / "kafka" / kafka_version()


def java_command() -> str:
    """The java executable (JAVA_HOME first), checked to be Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KafkaError(
            "java not found: install a JDK 17+ (Debian: apt-get install -y openjdk-17-jre-headless)"
        )
    banner = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(?:1\.)?(\d+)', banner)
    if not found or int(found.group(1)) < 17:
        raise KafkaError(f"Kafka {kafka_version()} needs Java 17+, {java} says: {banner.strip()}")
    return java


def mvn_command() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise KafkaError(
            "mvn not found: install Maven to fetch Kafka's jars (Debian: apt-get install -y maven)"
        )
    return mvn


def fetch_jars(cache_dir: Path | None = None) -> Path:
    """Copy the broker's jars into cache_dir/jars once; later calls just return that folder."""
    cache_dir = Path(cache_dir or default_cache_dir())
    jars, marker = cache_dir / "jars", cache_dir / MARKER
    if jars.is_dir() and marker.exists() and marker.read_text() == _pom_digest():
        return jars
    # Copy into a side folder first so an interrupted download never looks complete.
    partial = cache_dir / "jars.partial"
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        mvn_command(),
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        raise KafkaError(
            f"fetching Kafka jars failed ({' '.join(command)}):\n{done.stdout}{done.stderr}"
        )
    shutil.rmtree(jars, ignore_errors=True)
    partial.rename(jars)
    marker.write_text(_pom_digest())
    return jars


def _pom_digest() -> str:
    # A changed pom (another Kafka version, another binding) must trigger a new copy.
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def answers_api_versions(port: int, timeout: float = 2.0) -> bool:
    """True when a broker on 127.0.0.1:port answers an ApiVersions request (v0)."""
    client_id = b"waypoint-local-kafka"
    correlation_id = 7
    request = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(struct.pack(">i", len(request)) + request)
            header = _receive(conn, 8)  # size, then the correlation id echoed back
    except OSError:
        return False
    return len(header) == 8 and struct.unpack(">ii", header)[1] == correlation_id


def _receive(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


class LocalKafka:
    """One Kafka broker+controller process on 127.0.0.1, its state kept in data_dir.

    Alone it is a cluster of one (node 1). As a node of a KafkaCluster it has its own node_id,
    the quorum's `voters`, and a `home` shared with the other nodes, which holds the cluster id
    and the credentials."""

    def __init__(
        self,
        port: int,
        controller_port: int,
        data_dir: Path,
        jars_dir: Path | None = None,
        sasl: bool = False,
        node_id: int = 1,
        voters: str | None = None,
        home: Path | None = None,
    ):
        self.port = port
        self.controller_port = controller_port
        self.data_dir = Path(data_dir).resolve()
        self.jars_dir = Path(jars_dir).resolve() if jars_dir else None
        self.sasl = sasl
        self.node_id = node_id
        self.voters = voters or f"{node_id}@127.0.0.1:{controller_port}"
        self.home = Path(home).resolve() if home else self.data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def server_log(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def console_log(self) -> Path:
        return self.data_dir / "kafka.out"

    @property
    def credentials(self) -> dict[str, str]:
        """The principals' passwords (SASL only), generated once per data dir."""
        path = self.home / "credentials.json"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            users = (*PRINCIPALS, CONTROLLER_USER)
            generated = {user: secrets.token_hex(24) for user in users}
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                json.dump(generated, out)
        return dict(json.loads(path.read_text()))

    def client_environment(self) -> dict[str, str]:
        """Waypoint's variables for this broker: each service's principal as
        <SERVICE>_KAFKA_SASL_USERNAME/PASSWORD, the admin's as KAFKA_SASL_USERNAME/PASSWORD."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        if not self.sasl:
            return env
        env.update(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_MECHANISM=SCRAM)
        for user, password in self.credentials.items():
            if user == CONTROLLER_USER:
                continue
            prefix = "" if user == "admin" else f"{user.upper()}_"
            env[f"{prefix}KAFKA_SASL_USERNAME"] = user
            env[f"{prefix}KAFKA_SASL_PASSWORD"] = password
        return env

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90) -> LocalKafka:
        """Format storage if new, start the broker and wait until it serves requests."""
        if self.is_running():
            return self
        self.launch()
        self.wait_until_ready(timeout)
        return self

    def launch(self) -> None:
        """Format storage if new and start the process, without waiting for it: the nodes of a
        cluster must all be started before any of them can elect a controller."""
        java = java_command()
        self.jars_dir = self.jars_dir or fetch_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_properties()
        self._format_storage(java, properties)
        self._launch(java, properties)
        atexit.register(self.stop)  # a crashed test session must not leave a JVM behind

    def terminate(self) -> None:
        """Ask the broker to stop (SIGTERM) without waiting: a cluster's nodes are asked together,
        so that none waits for a controller that has already left."""
        if self._process is not None:
            _signal_group(self._process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the broker's process group, SIGKILL it if it lingers. Safe to call twice."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()

    def kill(self) -> None:
        """SIGKILL the broker (no clean shutdown, as a crashed machine); start() brings it back on
        the same data_dir."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, timeout: float = 90) -> LocalKafka:
        """Stop and start again on the same data_dir: topics and messages survive."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for log in (self.console_log, self.server_log):
            if log.exists():
                text = log.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {log} ---\n" + "\n".join(text))
        return "\n".join(tails)

    @property
    def replicas(self) -> int:
        """How many copies of each internal topic: one per node, three at most."""
        return min(3, self.voters.count("@"))

    def _write_properties(self) -> Path:
        replicas, min_insync = str(self.replicas), str(min_insync_of(self.replicas))
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            # Static quorum: the voters' addresses come from this file on every start, so a
            # restart never depends on what the previous run wrote into the metadata log.
            "controller.quorum.voters": self.voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_insync,
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_insync,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_insync,
            "group.initial.rebalance.delay.ms": "0",
        }
        if self.sasl:
            settings.update(self._sasl_settings())
        path = self.data_dir / "server.properties"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:  # it holds passwords when SASL is on
            out.write("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path

    def _sasl_settings(self) -> dict[str, str]:
        """SCRAM on the client listener, PLAIN for the controller's own principal, ACLs on."""
        controller = self.credentials[CONTROLLER_USER]
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        return {
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name": "CLIENT",
            "sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                f'{plain} required username="{CONTROLLER_USER}" password="{controller}" '
                f'user_{CONTROLLER_USER}="{controller}";'
            ),
            "listener.name.client.scram-sha-512.sasl.jaas.config": (
                f'{scram} required username="{CONTROLLER_USER}" password="{controller}";'
            ),
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{CONTROLLER_USER};User:admin",
            "allow.everyone.if.no.acl.found": "false",
        }

    def _scram_arguments(self) -> list[str]:
        """`--add-scram` for every principal (applied when the storage is first formatted)."""
        if not self.sasl:
            return []
        return [
            f"--add-scram={SCRAM}=[name={user},password={password}]"
            for user, password in self.credentials.items()
        ]

    def _cluster_id(self) -> str:
        # Kept beside the data so the same id is offered on every start of this data_dir.
        path = self.home / "cluster.id"
        if not path.exists():
            path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        return path.read_text().strip()

    def _format_storage(self, java: str, properties: Path) -> None:
        formatted = (self.data_dir / "data" / "meta.properties").exists()
        with_scram = self.data_dir / "scram.formatted"
        if self.sasl and formatted and not with_scram.exists():
            raise KafkaError(
                f"{self.data_dir} was formatted without SASL credentials: remove it to start "
                "afresh, or run without SASL (WAYPOINT_KAFKA_SASL=off)"
            )
        if formatted:  # a restart: the tool would start a JVM only to find it formatted
            return
        command = [
            java,
            "-cp",
            self._classpath(),
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "kafka.tools.StorageTool",
            "format",
            "--config",
            str(properties),
            # One argument: a base64 id may start with "-", which argparse would take for an option.
            f"--cluster-id={self._cluster_id()}",
            "--ignore-formatted",
            *self._scram_arguments(),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise KafkaError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")
        if self.sasl and not formatted:
            with_scram.write_text("the SCRAM credentials of credentials.json are in the metadata\n")

    def _launch(self, java: str, properties: Path) -> None:
        command = [
            java,
            "-Xms256m",
            "-Xmx512m",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(properties),
        ]
        # Read only what this run logs: server.log is appended to across restarts.
        self._log_offset = self.server_log.stat().st_size if self.server_log.exists() else 0
        with self.console_log.open("ab") as console:
            self._process = subprocess.Popen(
                command,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _classpath(self) -> str:
        return f"{self.jars_dir}/*"

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not (self._logged_running() and answers_api_versions(self.port)):
            if not self.is_running():
                code = self._process.returncode if self._process else None
                self.stop()
                raise KafkaError(f"Kafka exited during start-up (code {code}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise KafkaError(
                    f"Kafka was not ready on {self.bootstrap} after {timeout}s:\n{tail}"
                )
            time.sleep(0.2)

    def _logged_running(self) -> bool:
        return bool(RUNNING_LINE.search(self.logged_since(self._log_offset)))

    def logged_since(self, offset: int) -> str:
        """What the broker's server.log holds past `offset` bytes ("" before it exists)."""
        if not self.server_log.exists():
            return ""
        with self.server_log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


def min_insync_of(replicas: int) -> int:
    """Replicas a write must reach: a majority, so one broker of three may be lost."""
    return replicas // 2 + 1


class KafkaCluster:
    """Three (or `len(ports)`) LocalKafka nodes on 127.0.0.1 as one KRaft cluster: each node a
    combined controller+broker in data_dir/node-<id>, the cluster id and credentials in data_dir."""

    def __init__(
        self,
        ports: list[int],
        controller_ports: list[int],
        data_dir: Path,
        jars_dir: Path | None = None,
        sasl: bool = False,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.sasl = sasl
        voters = ",".join(f"{i}@127.0.0.1:{c}" for i, c in enumerate(controller_ports, 1))
        addresses = enumerate(zip(ports, controller_ports, strict=True), 1)
        self.nodes = [
            LocalKafka(
                port,
                controller,
                self.data_dir / f"node-{i}",
                jars_dir,
                sasl,
                node_id=i,
                voters=voters,
                home=self.data_dir,
            )
            for i, (port, controller) in addresses
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def replicas(self) -> int:
        return self.nodes[0].replicas

    def client_environment(self) -> dict[str, str]:
        """As a single broker's, with every node as a bootstrap server and the topics' replication
        (WAYPOINT_TOPIC_REPLICATION_FACTOR, WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS)."""
        return {
            **self.nodes[0].client_environment(),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "WAYPOINT_TOPIC_REPLICATION_FACTOR": str(self.replicas),
            "WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS": str(min_insync_of(self.replicas)),
        }

    def is_running(self) -> bool:
        return all(node.is_running() for node in self.nodes)

    def start(self, timeout: float = 120) -> KafkaCluster:
        """Start every node, then wait until each one serves requests."""
        deadline = time.monotonic() + timeout
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_until_ready(max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 30) -> None:
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            node.stop(timeout)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(node.log_tail(lines) for node in self.nodes)

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signum)  # the JVM leads its own session, so its group id is its pid


def cluster_ports(port: int, controller_port: int, nodes: int = 3) -> tuple[list[int], list[int]]:
    """The nodes' client and controller ports: node i on port + 2i and controller_port + 2i
    (9092/9093, 9094/9095, 9096/9097 by default)."""
    return [port + 2 * i for i in range(nodes)], [controller_port + 2 * i for i in range(nodes)]


def _run(args: argparse.Namespace) -> int:
    kafka: LocalKafka | KafkaCluster
    if args.cluster:
        ports, controllers = cluster_ports(args.port, args.controller_port)
        kafka = KafkaCluster(ports, controllers, Path(args.data_dir), args.jars_dir, args.sasl)
    else:
        kafka = LocalKafka(
            args.port, args.controller_port, Path(args.data_dir), args.jars_dir, sasl=args.sasl
        )
    stop = StopRequest()
    started = time.monotonic()
    kafka.start(timeout=args.timeout)
    print(f"kafka ready on {kafka.bootstrap} ({time.monotonic() - started:.1f}s)", flush=True)
    stop.wait(kafka.is_running)
    died = not kafka.is_running()
    kafka.stop()
    if died:
        print(f"kafka stopped unexpectedly:\n{kafka.log_tail()}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download the broker's jars into the cache")
    fetch.add_argument("--cache-dir", type=Path, default=None)
    run = commands.add_parser("run", help="run a broker until Ctrl-C")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=9093)
    run.add_argument("--data-dir", type=Path, default=Path("var") / "kafka")
    run.add_argument("--jars-dir", type=Path, default=None)
    run.add_argument("--timeout", type=float, default=90)
    run.add_argument("--sasl", action="store_true", help="SASL/SCRAM, one principal per service")
    run.add_argument("--cluster", action="store_true", help="three nodes (ports +2, +4)")
    return command_line(
        parser, argv, lambda args: f"kafka jars in {fetch_jars(args.cache_dir)}", _run, KafkaError
    )


if __name__ == "__main__":
    sys.exit(main())
