"""HAProxy in front of a service's web replicas: the configuration `make run-cluster` runs it with.

One frontend per service on the service's usual address (127.0.0.1:8001 …) balances requests
round-robin over its replicas, each checked every second on /health/ready: a replica that fails two
checks in a row gets no requests until it passes two again. Every answer names the replica that
served it in `X-Served-By` (e.g. `intake-web-2`), and HAProxy's own statistics page lists each
replica's state; HAProxy's own errors are problem+json, as the services' are. HAProxy comes from
Debian's `haproxy` package (2.6).

Each frontend also refuses a token over its rate before any web process sees the request (ADR
0010), by the services' own algorithm and numbers: GCRA at `WAYPOINT_RATE_LIMIT` requests/s (read
from the services' settings) with one second of tolerance, as waypoint_shared.http.ratelimit
counts. A stick table per service, keyed by the SHA-256 of the `Authorization` header (never the
token), keeps each token's theoretical arrival time in `gpt0` (microseconds, modulo 2^32: the
arithmetic is modular, and an entry expires long before it could wrap). A request that would
overrun is answered by HAProxy with 429 problem+json (a FHIR OperationOutcome under /fhir),
`Retry-After`, the headers every answer of the services carries, and `X-Served-By: haproxy`;
it counts nothing, so a flooding token keeps getting exactly what the services would admit. A
refusal is answered after one second (HAProxy's tarpit): a client that sends its next request
once answered then costs the machine one refusal per connection per second, not as many as it can
send, and the CPU stays with the requests that are served. Requests without a bearer token, and
the public paths, pass: the service answers them (401 for a missing token). The services' own
limiter stays as the second line (several proxies, direct access, and the few requests two
HAProxy threads may both admit at the same instant).

Admitted requests queue fairly: each replica is sent at most a few at once, the token that has
used least of its allowance first; and a token well into its allowance (more than a quarter of its
one-second burst) is sent through a second backend of the same replicas with one place on each,
so heavy tokens have one request in flight per replica between them and a light token's request
goes straight in beside it. A request is never refused for being concurrent, only queued.

`docker-compose.yml`'s `cluster` profile runs the same rules from `deploy/haproxy/haproxy.cfg`,
which this module writes (`python -m waypoint_devkit.balancer > deploy/haproxy/haproxy.cfg`;
tests/contract/test_deployment_files.py checks the file is what it writes): there the replicas
are compose services (`intake-web-1` …) found through Docker's DNS, so the HAProxy container
starts before they resolve and picks them up when they do.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from waypoint_shared.config import load_settings

SERVED_BY = "X-Served-By"
HEALTH_PATH = "/health/ready"
PUBLIC_PATHS = ("/health/live", "/health/ready", "/openapi.json")  # as waypoint_shared.http.auth
TOKENS_TRACKED = "100k"  # entries of each service's stick table (about 100 bytes each)
# Answered by the services on every response (waypoint_shared.http.web.SAFETY_HEADERS).
SAFETY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
MICROSECONDS = 1_000_000
TOLERANCE = MICROSECONDS  # one second of requests may come at once, as the services' RateLimiter
MODULO = 2**32  # gpt0 is 32 bits wide: arrival times are kept in µs modulo 2^32 (71 minutes)
TARPIT_MS = 1000  # a refusal is answered after this long
# Fair queueing between tokens: a replica is sent at most this many requests at once and the rest
# wait in HAProxy's queue, where the token that has used the least of its allowance goes first
# (its priority class is how far its arrival time runs ahead of now, in hundredths of the
# tolerance: 0 for a token with its allowance unused, up to 100 for one at its limit).
# A light tenant's request then waits behind no queued request of a heavy one.
IN_FLIGHT_PER_REPLICA = 4
PRIORITY_STEPS = 100
# A token that has used more than this share of its allowance (its arrival time a quarter of the
# tolerance ahead of now: 25 requests' burst at 100/s) is heavy: its requests go to a second
# backend with the same replicas and this many places on each, where they queue (never refused
# for it), so heavy tokens have at most this many requests in flight on a replica together, and
# never take the places of the light tokens' requests.
HEAVY_SHARE = 4  # heavy beyond 1/HEAVY_SHARE of the tolerance
HEAVY_IN_FLIGHT_PER_REPLICA = 1
QUEUE_TIMEOUT_S = 10  # a request queued longer is answered 503 problem+json, Retry-After: 1

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


# HAProxy's own answers (no replica ready, e.g. while the database restarts: 503; a replica that
# failed or timed out: 502, 504) are RFC 9457 problems with Retry-After, as the services' own.
PROBLEMS = {503: "Service Unavailable", 502: "Bad Gateway", 504: "Gateway Timeout"}


def _gateway_problem(status: int, title: str) -> str:
    body = (
        f'{{"type":"about:blank","title":"{title}","status":{status},'
        '"detail":"No replica of the service could answer. Retry shortly with the same '
        'Idempotency-Key."}'
    )
    return (
        f"    http-error status {status} content-type application/problem+json "
        f"string '{body}' hdr Retry-After 1\n"
    )


DEFAULTS = GLOBAL + "".join(_gateway_problem(status, title) for status, title in PROBLEMS.items())


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
    """HAProxy's configuration for `make run-cluster`: service -> its front port, service -> its
    replicas' ports, all on 127.0.0.1; each service's per-token limit from its settings in env
    (the process environment by default)."""
    return render(
        {service: f"127.0.0.1:{port}" for service, port in fronts.items()},
        {service: [f"127.0.0.1:{p}" for p in ports] for service, ports in replicas.items()},
        f"127.0.0.1:{stats}",
        env=env,
    )


def compose_configuration() -> str:
    """HAProxy's configuration for docker-compose.yml's `cluster` profile: the same rules, with
    the web replicas as compose services (`intake-web-1:8001` …) resolved by Docker's DNS, and
    the limit the compose file gives the services (its default)."""
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
        env={},
    )


def render(
    fronts: Mapping[str, str],
    replicas: Mapping[str, list[str]],
    stats: str,
    resolvers: str = "",
    server_options: str = "",
    env: Mapping[str, str] | None = None,
) -> str:
    """service -> the address its frontend binds, service -> its replicas' addresses."""
    sections = [DEFAULTS] + ([resolvers] if resolvers else [])
    for service, bind in fronts.items():
        rate = load_settings(service, env).rate_limit
        sections.append(_service(service, bind, replicas[service], rate, server_options))
    sections.append(
        f"listen stats\n    bind {stats}\n    stats enable\n    stats uri /\n    stats refresh 5s\n"
    )
    return "\n".join(sections)


def _service(
    service: str, bind: str, addresses: list[str], rate: float, server_options: str
) -> str:
    backend = f"{service}-web"
    servers = "".join(
        f"    server {backend}-{i} {address} check maxconn {IN_FLIGHT_PER_REPLICA}"
        f"{server_options}\n"
        for i, address in enumerate(addresses, 1)
    )
    # the same replicas, up or down as the checked ones are, with fewer places for heavy tokens
    heavy_servers = "".join(
        f"    server {backend}-{i} {address} maxconn {HEAVY_IN_FLIGHT_PER_REPLICA}"
        f" track {backend}/{backend}-{i}{server_options}\n"
        for i, address in enumerate(addresses, 1)
    )
    return (
        f"frontend {service}\n"
        f"    bind {bind}\n"
        f"{token_limit(rate)}"
        f"    use_backend {backend}-heavy if tracked stored ahead heavy\n"
        f"    default_backend {backend}\n\n"
        f"backend {backend}\n"
        f"{_backend_common()}"
        f"    option httpchk GET {HEALTH_PATH}\n"
        "    http-check expect status 200\n"
        f"{servers}\n"
        f"backend {backend}-heavy\n"
        f"{_backend_common()}"
        f"{heavy_servers}"
    )


def _backend_common() -> str:
    return (
        "    balance roundrobin\n"
        f"    timeout queue {QUEUE_TIMEOUT_S}s\n"
        f"    http-response set-header {SERVED_BY} %[srv_name]\n"
    )


def gcra(rate: float) -> tuple[int, int]:
    """(interval, tolerance) in microseconds of the services' GCRA at `rate` requests/s: each
    admitted request moves the token's arrival time on by the interval (rounded down, so the
    proxy never refuses what the services admit) and may run ahead of now by the tolerance."""
    if rate <= 0:
        raise ValueError("WAYPOINT_RATE_LIMIT must be a positive number of requests/s")
    interval = math.floor(MICROSECONDS / rate)
    if interval + TOLERANCE >= MODULO // 2:
        raise ValueError(
            "WAYPOINT_RATE_LIMIT below one request in 30 minutes: HAProxy cannot count it"
        )
    return interval, TOLERANCE


def token_limit(rate: float) -> str:
    """The frontend's rules refusing a bearer token over `rate` requests/s with HAProxy's 429."""
    interval, tolerance = gcra(rate)
    expire_ms = (interval + tolerance) // 1000 + 1000  # by then its arrival time has passed
    retry = "%[var(txn.retry_after)]"
    detail = f"This token sent more than {rate:g} requests per second; retry after {retry} s."
    headers = {"Retry-After": retry, **SAFETY_HEADERS, SERVED_BY: "haproxy"}
    shown = "".join(f" hdr {name} {value}" for name, value in headers.items())
    refuse = "    http-request tarpit deny_status 429 content-type"
    over, mask = "if tracked stored ahead over_limit", MODULO - 1
    table = f"type binary len 32 size {TOKENS_TRACKED} expire {expire_ms}ms store gpt0"
    return (
        f"    timeout tarpit {TARPIT_MS}ms\n"
        f"    stick-table {table}\n"
        '    acl bearer req.fhdr(authorization) -m beg "Bearer "\n'
        f"    acl public path {' '.join(PUBLIC_PATHS)}\n"
        "    acl fhir path_beg /fhir\n"
        "    http-request track-sc0 req.fhdr(authorization),sha2(256) if bearer !public\n"
        "    acl tracked sc_tracked(0)\n"
        # now and the token's arrival time, modulo 2^32 µs; ahead: how far that time is past now
        f"    http-request set-var(txn.now) date(0,us),and({mask}) if tracked\n"
        "    http-request set-var(txn.tat) sc_get_gpt0(0) if tracked\n"
        f"    http-request set-var(txn.ahead) var(txn.tat),sub(txn.now),and({mask}) if tracked\n"
        "    acl stored var(txn.tat) -m int gt 0\n"
        f"    acl ahead var(txn.ahead) -m int lt {MODULO // 2}\n"
        f"    acl over_limit var(txn.ahead) -m int gt {max(0, tolerance - interval)}\n"
        f"    acl heavy var(txn.ahead) -m int gt {tolerance // HEAVY_SHARE}\n"
        # whole seconds until one more fits: ceil((ahead + interval - tolerance) / 1 s)
        f"    http-request set-var(txn.retry_after) var(txn.ahead),"
        f"add({interval - tolerance + MICROSECONDS - 1}),div({MICROSECONDS}) {over}\n"
        # The answer is built once the tarpit ends, when only variables still hold the request.
        f"    http-request set-var(txn.refused_path) path {over}\n"
        f"{refuse} application/fhir+json lf-string '{_outcome(detail)}'{shown} {over} fhir\n"
        f"{refuse} application/problem+json lf-string '{_problem(detail)}'{shown} {over}\n"
        # queued behind lighter tokens by how much of its allowance this one has used
        f"    http-request set-priority-class var(txn.ahead),div({tolerance // PRIORITY_STEPS})"
        " if tracked stored ahead\n"
        f"    http-request sc-set-gpt0(0) var(txn.tat),add({interval}),and({mask})"
        " if tracked stored ahead\n"
        f"    http-request sc-set-gpt0(0) var(txn.now),add({interval}),and({mask})"
        " if tracked !stored || tracked !ahead\n"
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


def compose_file() -> str:
    """deploy/haproxy/haproxy.cfg as it must read."""
    return (
        "# Written by `python -m waypoint_devkit.balancer` (devkit/src/waypoint_devkit/balancer.py)"
        "\n# for docker-compose.yml's cluster profile: change the module, then write it again.\n"
        + compose_configuration()
    )


if __name__ == "__main__":
    sys.stdout.write(compose_file())
