"""The worker process: outbox relay, Kafka consumers, and a small health/metrics listener.

Consumers never run inside gunicorn (KafkaConsumer is not thread-safe); each runs in its own
thread here, with its own clients. SIGTERM or SIGINT stops every loop after its current batch.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import Engine, text

from waypoint_shared.observability import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loop:
    """A named long-running loop: run(stop) returns when stop is set."""

    name: str
    run: Callable[[threading.Event], None]
    ready: Callable[[], bool] = lambda: True
    details: Callable[[], dict[str, object]] = dict  # merged into /health/ready's body


class Worker:
    def __init__(
        self,
        engine: Engine,
        loops: Sequence[Loop],
        health_port: int,
        health_host: str = "127.0.0.1",
    ):
        self.engine, self.loops = engine, loops
        self.health_host, self.health_port = health_host, health_port
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for loop in self.loops:
            thread = threading.Thread(target=self._guard(loop), name=loop.name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guard(self, loop: Loop) -> Callable[[], None]:
        def run() -> None:
            backoff = 1.0
            while not self.stop.is_set():
                try:
                    loop.run(self.stop)
                    return
                except Exception:
                    log.exception("%s stopped unexpectedly; again in %.0fs", loop.name, backoff)
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)

        return run

    def healthy(self) -> bool:
        """Ready: every loop alive and ready (topics exist, partitions assigned), database up."""
        if not all(t.is_alive() for t in self.threads):
            return False
        if not all(loop.ready() for loop in self.loops):
            return False
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def details(self) -> dict[str, object]:
        """What the loops report about themselves (e.g. consumer lag per partition)."""
        merged: dict[str, object] = {}
        for loop in self.loops:
            merged.update(loop.details())
        return merged

    def serve_forever(self) -> None:
        """Run until SIGTERM/SIGINT, then let every loop finish its batch."""
        server = ThreadingHTTPServer((self.health_host, self.health_port), _handler_for(self))
        server.daemon_threads = True
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        self.start()
        threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
        log.info("worker health on %s:%d", self.health_host, self.health_port)
        self.stop.wait()
        log.info("worker stopping: finishing the current batches")
        server.shutdown()
        for thread in self.threads:
            thread.join(timeout=15)
        log.info("worker stopped")


def _handler_for(worker: Worker) -> type[BaseHTTPRequestHandler]:
    class HealthHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health/live":
                self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
            elif self.path == "/health/ready":
                ok = worker.healthy()
                body: dict[str, object] = (
                    {"status": "ok"} if ok else {"title": "Service Unavailable", "status": 503}
                )
                body.update(worker.details())
                self._send(
                    200 if ok else 503,
                    "application/json" if ok else "application/problem+json",
                    json.dumps(body).encode(),
                )
            elif self.path == "/metrics":
                page, content_type = metrics.exposition()
                self._send(200, content_type, page)
            else:
                body = {"title": "Not Found", "status": 404, "detail": "No resource here."}
                self._send(404, "application/problem+json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Health probes are too frequent to log."""

    return HealthHandler
