"""HAProxy in front of a service's web replicas: the configuration `make run-cluster` runs it with.

One frontend per service on the service's usual address (127.0.0.1:8001 …) balances requests
round-robin over its replicas, each checked every second on /health/ready: a replica that fails two
checks in a row gets no requests until it passes two again. Every answer names the replica that
served it in `X-Served-By` (e.g. `intake-web-2`), and HAProxy's own statistics page lists each
replica's state; HAProxy's own errors are problem+json, as the services' are. HAProxy comes from
Debian's `haproxy` package (2.6).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

SERVED_BY = "X-Served-By"
HEALTH_PATH = "/health/ready"

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

# HAProxy's own answers (no replica ready, e.g. while the database restarts: 503; a replica that
# failed or timed out: 502, 504) are RFC 9457 problems with Retry-After, as the services' own.
PROBLEMS = {503: "Service Unavailable", 502: "Bad Gateway", 504: "Gateway Timeout"}


def _problem(status: int, title: str) -> str:
    body = (
        f'{{"type":"about:blank","title":"{title}","status":{status},'
        '"detail":"No replica of the service could answer. Retry shortly with the same '
        'Idempotency-Key."}'
    )
    return (
        f"    http-error status {status} content-type application/problem+json "
        f"string '{body}' hdr Retry-After 1\n"
    )


DEFAULTS = GLOBAL + "".join(_problem(status, title) for status, title in PROBLEMS.items())


def haproxy_command() -> str:
    """The haproxy executable (Debian installs it in /usr/sbin)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError("haproxy not found: apt-get install -y haproxy (or make kafka-jars)")
    return found


def configuration(fronts: Mapping[str, int], replicas: Mapping[str, list[int]], stats: int) -> str:
    """HAProxy's configuration: service -> its front port, service -> its replicas' ports."""
    sections = [DEFAULTS]
    for service, port in fronts.items():
        sections.append(_service(service, port, replicas[service]))
    sections.append(
        f"listen stats\n    bind 127.0.0.1:{stats}\n    stats enable\n    stats uri /\n"
        "    stats refresh 5s\n"
    )
    return "\n".join(sections)


def _service(service: str, port: int, replica_ports: list[int]) -> str:
    servers = "".join(
        f"    server {service}-web-{i} 127.0.0.1:{replica} check\n"
        for i, replica in enumerate(replica_ports, 1)
    )
    return (
        f"frontend {service}\n"
        f"    bind 127.0.0.1:{port}\n"
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
