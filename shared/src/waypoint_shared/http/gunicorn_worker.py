"""gunicorn's threaded worker, answering a request line over its limit as the services answer
any bad request: a 400 problem+json (gunicorn writes its own HTML page, 414 "URI Too Long").

The line is still refused by gunicorn before it reaches the app or is held whole in memory
(`limit_request_line` in gunicorn_conf); only the answer's form changes. Every other error
gunicorn answers itself is answered as gunicorn does.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn.http.errors import LimitRequestLine
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker


class ProblemWorker(ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, LimitRequestLine):
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        detail = f"The request line is longer than {self.cfg.limit_request_line} bytes."
        try:
            write_nonblock(client, problem_response(400, "Bad Request", detail))
        except OSError:
            self.log.debug("Failed to send error message.")


def problem_response(status: int, title: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem+json body; the connection is closed after."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\n"
        "Content-Type: application/problem+json\r\nCache-Control: no-store\r\n"
        f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return (head + body).encode("latin-1")
