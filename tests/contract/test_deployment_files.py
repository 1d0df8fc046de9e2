"""Deployment files, checked without a Docker engine: compose schema, Dockerfile lint, rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # installed with check-jsonschema (dev group); PyYAML is not

from waypoint_shared.config import DEVELOPMENT_MASTER_KEY, DEVELOPMENT_SECRET

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("intake", "goals", "progress")
PROCESSES = [f"{service}-{kind}" for service in SERVICES for kind in ("web", "worker")]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"  # one for every service, named by build args


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


def test_kafka_authenticates_clients_with_scram_over_tls_and_authorises_by_acl():
    env = kafka_environment()
    listeners = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    advertised = [a.split("://")[0] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    assert advertised and all(listeners[name] == "SASL_SSL" for name in advertised)
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert "CONTROLLER://localhost:" in env["KAFKA_LISTENERS"]  # the controller on loopback
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("metadata.authorizer.StandardAuthorizer")
    assert str(env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"]) == "false"
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {"User:controller", "User:admin"}


def test_kafka_credentials_and_certificates_are_required_from_the_operator():
    text = COMPOSE_FILE.read_text()
    required = re.compile(r"\$\{(WAYPOINT_KAFKA_\w+):\?[^}]+\}")
    names = set(required.findall(text))
    passwords = {
        f"WAYPOINT_KAFKA_{u}_PASSWORD" for u in ("CONTROLLER", "ADMIN", *map(str.upper, SERVICES))
    }
    assert names >= passwords | {"WAYPOINT_KAFKA_SECRETS_DIR", "WAYPOINT_KAFKA_CA_FILE"}
    assert not re.search(r"\$\{WAYPOINT_KAFKA_\w+:-", text), "no Kafka secret has a default"


@pytest.mark.parametrize("process", PROCESSES)
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


@pytest.mark.parametrize("process", PROCESSES)
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
