"""HAProxy in front of a service's web replicas: the configuration `make run-cluster` runs it with.

One frontend per service on the service's usual address (127.0.0.1:8001 …) balances requests
round-robin over its replicas, each checked every second on /health/ready: a replica that fails two
checks in a row gets no requests until it passes two again. Every answer names the replica that
served it in `X-Served-By` (e.g. `intake-web-2`), and HAProxy's own statistics page lists each
replica's state. HAProxy comes from Debian's `haproxy` package (2.6).

`docker-compose.yml`'s `cluster` profile runs the same rules from `deploy/haproxy/haproxy.cfg`,
which this module writes (`python -m waypoint_devkit.balancer > deploy/haproxy/haproxy.cfg`;
tests/contract/test_deployment_files.py checks the file is what it writes): there the replicas
are compose services (`intake-web-1` …) found through Docker's DNS, so the HAProxy container
starts before they resolve and picks them up when they do.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

SERVED_BY = "X-Served-By"
HEALTH_PATH = "/health/ready"
COMPOSE_SERVICES = {"intake": 8001, "goals": 8002, "progress": 8003}  # each web's own port
COMPOSE_REPLICAS = 2
COMPOSE_STATS_PORT = 8404

# Docker's embedded DNS: a replica not (yet) running has no address; HAProxy keeps its server
# slot down and resolves it again every 2 s (`init-addr last,libc,none` lets it start meanwhile).
DOCKER_RESOLVERS = """\
resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 2s
    hold other 2s
"""
DOCKER_SERVER_OPTIONS = " resolvers docker init-addr last,libc,none"

GLOBAL = """\
global
    log stdout format raw local0 info
    maxconn 2048

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A request whose replica refused the connection goes to another one (never a request the
    # replica has begun to answer: writes are not repeated).
    option redispatch
    retries 2
    default-server inter 1s fall 2 rise 2
"""


def haproxy_command() -> str:
    """The haproxy executable (Debian installs it in /usr/sbin)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError("haproxy not found: apt-get install -y haproxy (or make kafka-jars)")
    return found


def configuration(fronts: Mapping[str, int], replicas: Mapping[str, list[int]], stats: int) -> str:
    """HAProxy's configuration for `make run-cluster`: service -> its front port, service -> its
    replicas' ports, all on 127.0.0.1."""
    return render(
        {service: f"127.0.0.1:{port}" for service, port in fronts.items()},
        {service: [f"127.0.0.1:{p}" for p in ports] for service, ports in replicas.items()},
        f"127.0.0.1:{stats}",
    )


def compose_configuration() -> str:
    """HAProxy's configuration for docker-compose.yml's `cluster` profile: the same rules, with
    the web replicas as compose services (`intake-web-1:8001` …) resolved by Docker's DNS."""
    replicas = {
        service: [f"{service}-web-{i}:{port}" for i in range(1, COMPOSE_REPLICAS + 1)]
        for service, port in COMPOSE_SERVICES.items()
    }
    return render(
        {service: f"*:{port}" for service, port in COMPOSE_SERVICES.items()},
        replicas,
        f"*:{COMPOSE_STATS_PORT}",
        resolvers=DOCKER_RESOLVERS,
        server_options=DOCKER_SERVER_OPTIONS,
    )


def render(
    fronts: Mapping[str, str],
    replicas: Mapping[str, list[str]],
    stats: str,
    resolvers: str = "",
    server_options: str = "",
) -> str:
    """service -> the address its frontend binds, service -> its replicas' addresses."""
    sections = [GLOBAL] + ([resolvers] if resolvers else [])
    for service, bind in fronts.items():
        sections.append(_service(service, bind, replicas[service], server_options))
    sections.append(
        f"listen stats\n    bind {stats}\n    stats enable\n    stats uri /\n    stats refresh 5s\n"
    )
    return "\n".join(sections)


def _service(service: str, bind: str, addresses: list[str], server_options: str) -> str:
    servers = "".join(
        f"    server {service}-web-{i} {address} check{server_options}\n"
        for i, address in enumerate(addresses, 1)
    )
    return (
        f"frontend {service}\n"
        f"    bind {bind}\n"
        f"    default_backend {service}-web\n\n"
        f"backend {service}-web\n"
        "    balance roundrobin\n"
        f"    option httpchk GET {HEALTH_PATH}\n"
        "    http-check expect status 200\n"
        f"    http-response set-header {SERVED_BY} %[srv_name]\n"
        f"{servers}"
    )


def write_configuration(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def compose_file() -> str:
    """deploy/haproxy/haproxy.cfg as it must read."""
    return (
        "# Written by `python -m waypoint_devkit.balancer` (devkit/src/waypoint_devkit/balancer.py)"
        "\n# for docker-compose.yml's cluster profile: change the module, then write it again.\n"
        + compose_configuration()
    )


if __name__ == "__main__":
    sys.stdout.write(compose_file())
