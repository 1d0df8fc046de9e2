"""A webhook receiver for tests: an HTTP server on 127.0.0.1 that keeps every request it gets and
answers each with the next status it was given (200 once they run out), or hangs; and the
milestone events and the polling the webhook tests share."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from waypoint_devkit.apps import envelope
from waypoint_shared.messaging.envelope import Envelope


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


class Receiver:
    def __init__(self, statuses: list[int] | None = None, hang: bool = False):
        self.statuses, self.hang = list(statuses or []), hang
        self.received: list[Received] = []
        self.released = threading.Event()  # ends every hanging answer
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def _answer(self, received: Received) -> int:
        with self.lock:
            self.received.append(received)
            return self.statuses.pop(0) if self.statuses else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(Received(headers, body, time.monotonic()))
                if receiver.hang:
                    receiver.released.wait(120)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler


@contextmanager
def receiving(statuses: list[int] | None = None, hang: bool = False) -> Iterator[Receiver]:
    """A running receiver, stopped (and any hanging answer released) afterwards."""
    receiver = Receiver(statuses, hang)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        receiver.server.shutdown()
        receiver.server.server_close()


def milestone(client_id: str, tenant: str = "clinic-a", rule: str = "first_goal") -> Envelope:
    """Progress's `milestone_reached` of a client, as its consumer decodes it, recorded now."""
    return envelope(
        "progress",
        "milestone_reached",
        client_id,
        tenant,
        milestone_id=str(uuid.uuid4()),
        rule=rule,
        title="First goal set",
        reached_at=datetime.now(UTC).isoformat(),
        source_service="goals",
        source_event_id=str(uuid.uuid4()),
    )


def drive(step: Callable[[], object], done: Callable[[], bool], timeout: float = 10) -> None:
    """Run `step` (a dispatcher's round) as its loop would, until `done`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the deliveries were not made in time"
        step()
        time.sleep(0.02)
