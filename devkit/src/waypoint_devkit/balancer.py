"""HAProxy in front of a service's web replicas: the configuration `make run-cluster` runs it with.

One frontend per service on the service's usual address (127.0.0.1:8001 …) balances requests
round-robin over its replicas, each checked every second on /health/ready: a replica that fails two
checks in a row gets no requests until it passes two again. Every answer names the replica that
served it in `X-Served-By` (e.g. `intake-web-2`), and HAProxy's own statistics page lists each
replica's state. HAProxy comes from Debian's `haproxy` package (2.6).

Each frontend also refuses a token over its rate before any web process sees the request (ADR
0010): a stick table per service, keyed by the SHA-256 of the `Authorization` header (never the
token), counts the requests it let through in a sliding window (`gpc0_rate`); a request that
would exceed the services' own limit (`WAYPOINT_RATE_LIMIT`, read from the services' settings) is
answered by HAProxy with 429 problem+json (a FHIR OperationOutcome under /fhir), `Retry-After`,
the headers every answer of the services carries, and `X-Served-By: haproxy`. Refused requests
are not counted, so a flooding token keeps getting the rate the services would admit. A refusal
is answered after one window (1 s at 100/s; HAProxy's tarpit): a client that sends its next
request only once answered then costs the machine one refusal per connection per second, not as
many as it can send, and the CPU stays with the requests that are served. Requests
without a bearer token, and the public paths, pass: the service answers them (401 for a missing
token). The services' own limiter stays as the second line (several proxies, direct access).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path

from waypoint_shared.config import load_settings

SERVED_BY = "X-Served-By"
HEALTH_PATH = "/health/ready"
PUBLIC_PATHS = ("/health/live", "/health/ready", "/openapi.json")  # as waypoint_shared.http.auth
TOKENS_TRACKED = "100k"  # entries of each service's stick table (about 100 bytes each)
# Answered by the services on every response (waypoint_shared.http.web.SAFETY_HEADERS).
SAFETY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

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


def configuration(
    fronts: Mapping[str, int],
    replicas: Mapping[str, list[int]],
    stats: int,
    env: Mapping[str, str] | None = None,
) -> str:
    """HAProxy's configuration: service -> its front port, service -> its replicas' ports; each
    service's per-token limit from its settings in env (the process environment by default)."""
    sections = [GLOBAL]
    for service, port in fronts.items():
        rate = load_settings(service, env).rate_limit
        sections.append(_service(service, port, replicas[service], rate))
    sections.append(
        f"listen stats\n    bind 127.0.0.1:{stats}\n    stats enable\n    stats uri /\n"
        "    stats refresh 5s\n"
    )
    return "\n".join(sections)


def _service(service: str, port: int, replica_ports: list[int], rate: float) -> str:
    servers = "".join(
        f"    server {service}-web-{i} 127.0.0.1:{replica} check\n"
        for i, replica in enumerate(replica_ports, 1)
    )
    return (
        f"frontend {service}\n"
        f"    bind 127.0.0.1:{port}\n"
        f"{token_limit(rate)}"
        f"    default_backend {service}-web\n\n"
        f"backend {service}-web\n"
        "    balance roundrobin\n"
        f"    option httpchk GET {HEALTH_PATH}\n"
        "    http-check expect status 200\n"
        f"    http-response set-header {SERVED_BY} %[srv_name]\n"
        f"{servers}"
    )


def window(rate: float) -> tuple[int, int]:
    """(requests, milliseconds): the sliding window that lets `rate` requests/s through: 100/s is
    100 in 1000 ms, 0.5/s is 1 in 2000 ms."""
    if rate <= 0:
        raise ValueError("WAYPOINT_RATE_LIMIT must be a positive number of requests/s")
    requests = max(1, math.floor(rate))
    return requests, round(1000 * requests / rate)


def token_limit(rate: float) -> str:
    """The frontend's rules refusing a bearer token over `rate` requests/s with HAProxy's 429."""
    requests, period_ms = window(rate)
    retry_after = math.ceil(period_ms / 1000)  # the window has let one more through by then
    detail = f"This token sent more than {rate:g} requests per second; retry after {retry_after} s."
    headers = {"Retry-After": str(retry_after), **SAFETY_HEADERS, SERVED_BY: "haproxy"}
    shown = "".join(f" hdr {name} {value}" for name, value in headers.items())
    refuse = "    http-request tarpit deny_status 429 content-type"
    return (
        f"    timeout tarpit {period_ms}ms\n"
        f"    stick-table type binary len 32 size {TOKENS_TRACKED} expire {2 * period_ms}ms"
        f" store gpc0_rate({period_ms}ms)\n"
        '    acl bearer req.fhdr(authorization) -m beg "Bearer "\n'
        f"    acl public path {' '.join(PUBLIC_PATHS)}\n"
        "    acl fhir path_beg /fhir\n"
        "    http-request track-sc0 req.fhdr(authorization),sha2(256) if bearer !public\n"
        f"    acl over_limit sc_gpc0_rate(0) ge {requests}\n"
        # The answer is built once the tarpit ends, when only variables still hold the request.
        "    http-request set-var(txn.refused_path) path if over_limit\n"
        f"{refuse} application/fhir+json string '{_outcome(detail)}'{shown} if over_limit fhir\n"
        f"{refuse} application/problem+json lf-string '{_problem(detail)}'{shown} if over_limit\n"
        "    http-request sc-inc-gpc0(0) if { sc_tracked(0) }\n"
    )


def _problem(detail: str) -> str:
    """The services' problem+json body of a 429 (waypoint_shared.http.problems), its `instance`
    the request's path (kept in a variable) as HAProxy escapes it for JSON."""
    body = {"type": "about:blank", "title": "Too Many Requests", "status": 429}
    text = json.dumps({**body, "detail": detail, "instance": "PATH"}, separators=(",", ":"))
    return text.replace('"PATH"', '"%[var(txn.refused_path),json(utf8s)]"')


def _outcome(detail: str) -> str:
    """The same refusal as a FHIR R4 OperationOutcome, as the services answer under /fhir."""
    issue = {
        "severity": "error",
        "code": "throttled",
        "diagnostics": f"Too Many Requests: {detail}",
    }
    return json.dumps({"resourceType": "OperationOutcome", "issue": [issue]}, separators=(",", ":"))


def write_configuration(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
