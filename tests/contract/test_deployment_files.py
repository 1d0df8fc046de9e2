"""Deployment files, checked without a Docker engine: compose schema, Dockerfile lint, rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # installed with check-jsonschema (dev group); PyYAML is not
from sqlalchemy import make_url

from waypoint_devkit import balancer
from waypoint_devkit.infrastructure import unavailable
from waypoint_shared.config import DEVELOPMENT_MASTER_KEY, DEVELOPMENT_SECRET, shared_kafka_settings
from waypoint_shared.messaging.topics import suite_topics

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("intake", "goals", "progress")
PROCESSES = [
    *(f"{service}-{kind}" for service in SERVICES for kind in ("web", "worker")),
    "progress-webhooks",  # progress's webhook delivery worker
]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"  # one for every service, named by build args
BROKERS = ("kafka-1", "kafka-2", "kafka-3")
CLUSTER_PROCESSES = [f"{process}-{i}" for process in PROCESSES for i in (1, 2)]
CLUSTER = {*BROKERS, "cluster-kafka-setup", "cluster-postgres", *CLUSTER_PROCESSES, "haproxy"}
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


def dev_tool(name: str) -> str:
    # The dev group installs these beside the interpreter running pytest; PATH may not have it.
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    assert found, f"{name} is missing: `uv sync` installs it with the dev group"
    return found


def compose_services() -> dict:
    return YAML(typ="safe").load(COMPOSE_FILE.read_text())["services"]


def last_user_of(dockerfile: Path) -> str | None:
    user_lines = re.compile(r"^\s*USER\s+(\S+)", flags=re.MULTILINE | re.IGNORECASE)
    users = user_lines.findall(dockerfile.read_text())
    return users[-1] if users else None


def test_compose_file_is_valid_against_the_compose_specification():
    schema = ["--builtin-schema", "vendor.compose-spec"]
    command = [dev_tool("check-jsonschema"), *schema, str(COMPOSE_FILE)]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dockerfile_has_no_hadolint_findings():
    command = [dev_tool("hadolint"), "--no-color", str(DOCKERFILE)]
    linted = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr


def test_compose_runs_kafka_postgres_and_a_web_and_worker_per_service():
    assert set(compose_services()) >= {"kafka", "postgres", *PROCESSES}


@pytest.mark.parametrize("process", PROCESSES)
def test_service_process_waits_for_healthy_kafka_and_postgres(process):
    depends_on = compose_services()[process].get("depends_on", {})
    for dependency in ("kafka", "postgres"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", dependency


def one_shot_jobs() -> set[str]:
    """Services that run once and exit (restart "no"), which the others wait to have completed."""
    services = compose_services()
    awaited = {
        name
        for service in services.values()
        for name, wait in (service.get("depends_on") or {}).items()
        if wait.get("condition") == "service_completed_successfully"
    }
    return {name for name in awaited if services[name].get("restart") == "no"}


def test_every_long_running_compose_service_has_a_healthcheck():
    missing = [
        name
        for name, service in compose_services().items()
        if name not in one_shot_jobs() and not service.get("healthcheck", {}).get("test")
    ]
    assert missing == []


def kafka_environment() -> dict:
    return compose_services()["kafka"]["environment"]


def protocols(env: dict) -> dict[str, str]:
    return dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))


def assert_scram_over_tls_and_acls(env: dict) -> None:
    advertised = [a.split("://")[0] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    assert advertised and all(protocols(env)[name] == "SASL_SSL" for name in advertised)
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("metadata.authorizer.StandardAuthorizer")
    assert str(env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"]) == "false"
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {"User:controller", "User:admin"}


def test_kafka_authenticates_clients_with_scram_over_tls_and_authorises_by_acl():
    env = kafka_environment()
    assert_scram_over_tls_and_acls(env)
    assert "CONTROLLER://localhost:" in env["KAFKA_LISTENERS"]  # the controller on loopback


def test_kafka_credentials_and_certificates_are_required_from_the_operator():
    text = COMPOSE_FILE.read_text()
    required = re.compile(r"\$\{(WAYPOINT_KAFKA_\w+):\?[^}]+\}")
    names = set(required.findall(text))
    passwords = {
        f"WAYPOINT_KAFKA_{u}_PASSWORD" for u in ("CONTROLLER", "ADMIN", *map(str.upper, SERVICES))
    }
    assert names >= passwords | {"WAYPOINT_KAFKA_SECRETS_DIR", "WAYPOINT_KAFKA_CA_FILE"}
    assert not re.search(r"\$\{WAYPOINT_KAFKA_\w+:-", text), "no Kafka secret has a default"


@pytest.mark.parametrize("process", PROCESSES + CLUSTER_PROCESSES)
def test_each_service_process_connects_to_kafka_as_its_own_principal(process):
    service = process.split("-")[0]
    env = compose_services()[process]["environment"]
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["KAFKA_SSL_CAFILE"].startswith("/run/secrets/")
    assert env[f"{service.upper()}_KAFKA_SASL_USERNAME"] == service
    assert "KAFKA_SASL_USERNAME" not in env  # never the admin's
    others = [s for s in SERVICES if s != service]
    assert not [k for k in env if k.startswith(tuple(f"{o.upper()}_KAFKA" for o in others))]


def test_topics_and_acls_are_created_by_the_admin_principal_before_the_services_start():
    setup = compose_services()["kafka-setup"]
    assert "waypoint_shared.messaging.kafka_acls" in " ".join(setup["command"])
    assert setup["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    for process in PROCESSES:
        waits = compose_services()[process]["depends_on"]["kafka-setup"]
        assert waits["condition"] == "service_completed_successfully"


def test_every_built_image_runs_as_a_non_root_user():
    services = compose_services().items()
    built = {name: service["build"] for name, service in services if "build" in service}
    assert built, "no service builds an image"
    for name, build in built.items():
        dockerfile = ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        user = last_user_of(dockerfile)
        assert user is not None, f"{name}: {dockerfile} has no USER line"
        assert user.split(":")[0] not in ("root", "0"), f"{name}: runs as {user}"


@pytest.mark.parametrize("service", SERVICES)
def test_web_and_worker_of_a_service_share_one_image(service):
    web, worker = (compose_services()[f"{service}-{kind}"] for kind in ("web", "worker"))
    assert web["build"] == worker["build"]
    assert web["build"]["dockerfile"] == str(DOCKERFILE.relative_to(ROOT))
    assert web["image"] == worker["image"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_image_is_built_for_its_own_service_and_ports(service):
    args = compose_services()[f"{service}-web"]["build"]["args"]
    published = {
        kind: compose_services()[f"{service}-{kind}"]["ports"][0].split(":")[-1]
        for kind in ("web", "worker")
    }
    assert args["SERVICE"] == service
    assert (args["WEB_PORT"], args["WORKER_PORT"]) == (published["web"], published["worker"])


def test_the_dockerfile_needs_the_service_and_its_ports_as_build_args():
    declared = re.findall(r"^ARG\s+(\w+)\s*$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert set(declared) == {"SERVICE", "WEB_PORT", "WORKER_PORT"}


def test_ports_are_published_on_localhost_only():
    services = compose_services().values()
    published = [port for service in services for port in service.get("ports", [])]
    assert published and all(str(port).startswith("127.0.0.1:") for port in published), published


def compose_environment(process: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose_services()[process]["environment"].items()}


@pytest.mark.parametrize("process", PROCESSES + CLUSTER_PROCESSES)
def test_every_process_runs_in_production_and_compose_refuses_to_start_without_its_secrets(
    process,
):
    env = compose_environment(process)
    own_key = f"{process.split('-')[0].upper()}_MASTER_KEY"

    assert env["WAYPOINT_ENV"] == "production"
    for name in ("WAYPOINT_JWT_SECRET", own_key):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), (name, env[name])
    assert "WAYPOINT_MASTER_KEY" not in env  # each service has its own master key


def test_no_secret_in_the_compose_file_has_a_development_default():
    text = COMPOSE_FILE.read_text()
    defaulted = re.findall(r"\$\{(\w*(?:SECRET|MASTER_KEY)\w*):-", text)
    assert defaulted == []
    assert DEVELOPMENT_SECRET not in text and DEVELOPMENT_MASTER_KEY not in text


def test_prometheus_scrapes_the_web_processes_with_a_bearer_token_from_a_mounted_file():
    config = YAML(typ="safe").load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    web = next(job for job in config["scrape_configs"] if job["job_name"] == "waypoint-web")
    token_file = web["authorization"]["credentials_file"]
    mounted = [v.split(":")[-2] for v in compose_services()["prometheus"]["volumes"]]
    assert web["authorization"]["type"] == "Bearer" and token_file in mounted


# --- the cluster profile ----------------------------------------------------------------------


def in_profile(profile: str) -> set[str]:
    return {n for n, s in compose_services().items() if profile in s.get("profiles", [])}


def started_with(name: str) -> set[str]:
    """What `docker compose up <name>` starts: the service and, transitively, its dependencies."""
    services, found, todo = compose_services(), set(), [name]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(services[current].get("depends_on") or {})
    return found


def started_by(*profiles: str) -> set[str]:
    """What `docker compose --profile P … up` starts: services of no profile or of one named."""
    return {
        name
        for name, service in compose_services().items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }


def test_the_cluster_profile_holds_three_brokers_postgres_two_replicas_of_each_and_haproxy():
    assert in_profile("cluster") == CLUSTER


def test_up_with_the_cluster_profile_starts_the_whole_cluster_and_nothing_of_the_single_suite():
    assert started_by("cluster") == CLUSTER


def test_up_with_the_single_profile_starts_one_broker_postgres_and_a_web_and_worker_per_service():
    assert started_by("single") == {"kafka", "kafka-setup", "postgres", *PROCESSES}


def test_a_bare_up_starts_nothing_so_every_command_names_its_suite():
    assert started_by() == set()


@pytest.mark.parametrize("profile", ["single", "cluster"])
def test_every_service_a_profile_starts_depends_only_on_services_it_starts(profile):
    for name in started_by(profile):
        assert started_with(name) <= started_by(profile), name


def test_starting_haproxy_in_the_cluster_profile_starts_the_whole_cluster_and_nothing_else():
    assert started_with("haproxy") == CLUSTER
    waits = compose_services()["haproxy"]["depends_on"]
    assert {n for n, w in waits.items() if w["condition"] == "service_healthy"} == set(
        CLUSTER_PROCESSES
    )


def broker_environment(name: str) -> dict:
    return compose_services()[name]["environment"]


@pytest.mark.parametrize("broker", BROKERS)
def test_each_broker_is_a_voter_of_one_three_node_quorum_reachable_by_the_others(broker):
    env = broker_environment(broker)
    voters = dict(v.split("@") for v in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
    controller_port = re.search(r"CONTROLLER://:(\d+)", env["KAFKA_LISTENERS"]).group(1)

    assert voters == {str(i): f"kafka-{i}:{controller_port}" for i in (1, 2, 3)}
    assert voters[str(env["KAFKA_NODE_ID"])].split(":")[0] == broker
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert f"SASL_SSL://{broker}:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["CLUSTER_ID"] == broker_environment("kafka-1")["CLUSTER_ID"]
    assert env["CLUSTER_ID"] != kafka_environment()["CLUSTER_ID"]


@pytest.mark.parametrize("broker", BROKERS)
def test_each_broker_is_secured_as_the_single_one_and_its_controller_speaks_tls(broker):
    env = broker_environment(broker)
    assert_scram_over_tls_and_acls(env)
    assert set(protocols(env).values()) == {"SASL_SSL"}  # on the network, the controller too
    assert env["KAFKA_SSL_TRUSTSTORE_LOCATION"] == "/etc/kafka/secrets/ca.pem"  # peers' CA


@pytest.mark.parametrize("broker", BROKERS)
def test_each_broker_replicates_its_own_topics_three_times_with_two_in_sync(broker):
    env = {k: str(v) for k, v in broker_environment(broker).items()}
    for topic in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"):
        assert env[f"KAFKA_{topic}_REPLICATION_FACTOR"] == "3", topic
    for topic in ("TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"):
        assert env[f"KAFKA_{topic}_MIN_ISR"] == "2", topic
    assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")


@pytest.mark.parametrize("name", ["cluster-kafka-setup", *CLUSTER_PROCESSES])
def test_the_cluster_creates_every_topic_with_three_replicas_and_two_in_sync(name):
    env = {k: str(v) for k, v in compose_services()[name]["environment"].items()}
    topics = suite_topics(shared_kafka_settings(env))

    assert env["KAFKA_BOOTSTRAP_SERVERS"] == ",".join(f"{b}:9092" for b in BROKERS)
    assert {t.replication_factor for t in topics} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in topics} == {"2"}


def test_the_cluster_sets_up_topics_and_acls_as_admin_after_all_three_brokers_are_healthy():
    setup = compose_services()["cluster-kafka-setup"]
    assert setup["command"] == compose_services()["kafka-setup"]["command"]
    assert setup["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    assert setup["restart"] == "no"
    assert {n: w["condition"] for n, w in setup["depends_on"].items()} == dict.fromkeys(
        BROKERS, "service_healthy"
    )


@pytest.mark.parametrize("process", CLUSTER_PROCESSES)
def test_every_cluster_process_keeps_its_service_database_on_the_clusters_postgresql(process):
    service = process.split("-")[0]
    url = make_url(compose_services()[process]["environment"][f"{service.upper()}_DATABASE_URL"])
    waits = compose_services()[process]["depends_on"]

    assert (url.drivername, url.host, url.database) == (
        "postgresql+psycopg",
        "cluster-postgres",
        service,
    )
    assert waits["cluster-postgres"]["condition"] == "service_healthy"
    assert {waits[b]["condition"] for b in BROKERS} == {"service_healthy"}
    assert waits["cluster-kafka-setup"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("process", PROCESSES)
def test_the_two_replicas_of_a_process_are_the_same_as_the_single_one_on_the_cluster(process):
    single = compose_services()[process]
    first, second = (compose_services()[f"{process}-{i}"] for i in (1, 2))
    assert first == second
    assert (first["image"], first["command"], first["build"]) == (
        single["image"],
        single["command"],
        single["build"],
    )


def test_the_haproxy_configuration_is_the_one_the_balancer_module_writes():
    assert HAPROXY_CONFIG.read_text() == balancer.compose_file(), (
        "run: python -m waypoint_devkit.balancer > deploy/haproxy/haproxy.cfg"
    )
    mounted = {v.split(":")[0]: v.split(":")[1] for v in compose_services()["haproxy"]["volumes"]}
    assert mounted["./deploy/haproxy/haproxy.cfg"] == "/usr/local/etc/haproxy/haproxy.cfg"


def test_haproxy_balances_each_service_over_its_two_web_replicas_at_their_port():
    text = HAPROXY_CONFIG.read_text()
    servers = re.findall(r"^\s*server (\S+) ([\w-]+):(\d+) check", text, flags=re.MULTILINE)
    fronts = re.findall(r"^\s*bind \*:(\d+)$", text, flags=re.MULTILINE)
    published = {p.split(":")[1] for p in compose_services()["haproxy"]["ports"]}
    for name, host, port in servers:
        assert name == host and host in compose_services(), host  # X-Served-By names the service
        assert f"0.0.0.0:{port}" in compose_services()[host]["command"]  # where gunicorn binds
    assert {host for _, host, _ in servers} == {p for p in CLUSTER_PROCESSES if "-web-" in p}
    assert set(fronts) == published == {"8001", "8002", "8003", "8404"}


def haproxy_check(config: Path, *wrapper: str) -> subprocess.CompletedProcess:
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        unavailable("haproxy is not installed (make kafka-jars installs it)")
    command = [*wrapper, balancer.haproxy_command(), "-c", "-f", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_haproxy_accepts_the_cluster_configuration_before_the_replicas_resolve():
    checked = haproxy_check(HAPROXY_CONFIG)  # as the container starts: no replica yet
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_accepts_the_cluster_configuration_with_every_compose_name_resolvable(tmp_path):
    # Docker's DNS answers each service's name; here a private /etc/hosts does, in a mount
    # namespace of haproxy's own (so the check resolves the very names compose defines).
    hosts = tmp_path / "hosts"
    names = sorted(compose_services())
    hosts.write_text(
        "127.0.0.1 localhost\n" + "".join(f"10.9.0.{i} {n}\n" for i, n in enumerate(names, 2))
    )
    script = f'mount --bind {hosts} /etc/hosts && exec "$@"'
    wrapper = ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh")
    if not shutil.which("unshare") or subprocess.run([*wrapper, "true"]).returncode != 0:
        unavailable("no user and mount namespaces here to give haproxy the compose names")

    checked = haproxy_check(HAPROXY_CONFIG, *wrapper)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "could not resolve" not in checked.stderr, checked.stderr
