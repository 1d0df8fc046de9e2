"""Sending one webhook request: the receiver's host is resolved, every address checked against the
rules (domain/webhooks.py, again on every attempt), and the request is made to the address that
was checked, so a name that resolves differently a moment later cannot point it inside the
deployment. Redirects are not followed; the whole attempt is bounded by a timeout.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from waypoint_progress.domain.webhooks import addresses_problem, url_problem

USER_AGENT = "Waypoint-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """One attempt: the receiver's status (None when none came), its latency and the error."""

    status_code: int | None
    latency_ms: int
    error: str | None


def resolve(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in found})


def receiver_problem(url: str, development: bool) -> str | None:
    """Why this receiver may not be called now, by its form or by what it resolves to."""
    problem = url_problem(url, development)
    if problem:
        return problem
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return addresses_problem(resolve(str(parts.hostname), port), development)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the host's name for SNI and certificate checks."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]  # the context http.client keeps


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


def send(
    url: str, body: bytes, headers: dict[str, str], timeout: float, development: bool
) -> Outcome:
    """POST the body to the receiver, if the rules allow it now."""
    started = time.monotonic()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = str(parts.hostname)
    addresses = resolve(host, port)
    problem = url_problem(url, development) or addresses_problem(addresses, development)
    if problem:
        return Outcome(None, 0, problem)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(host, addresses[0], port, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        status: int | None = response.status
        error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as failure:
        status, error = None, f"{type(failure).__name__}: {failure}"[:500]
    finally:
        connection.close()
    return Outcome(status, int((time.monotonic() - started) * 1000), error)
