"""Structured logs: one JSON object per line on stdout, for the web processes and the workers.

Every line names the service and process and carries the request id, correlation id, tenant and
client id of the work it belongs to (null when there is none). Never personal values: messages
are fixed texts, and facts travel as named fields (ids, types, statuses, offsets).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from gunicorn import glogging

if TYPE_CHECKING:
    from gunicorn.config import Config
    from gunicorn.http import Request
    from gunicorn.http.wsgi import Response

TRACE_FIELDS = ("request_id", "correlation_id", "tenant", "client_id")
_STANDARD = {*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime"}
_context: ContextVar[dict[str, Any]] = ContextVar("waypoint_log_context", default={})  # noqa: B039
QUIET_LIBRARIES = ("kafka", "urllib3")  # their INFO lines are connection chatter


def bind(**fields: Any) -> Token[dict[str, Any]]:
    """Add fields to every line logged from here on in this context; reset with unbind(token)."""
    return _context.set({**_context.get(), **fields})


def unbind(token: Token[dict[str, Any]]) -> None:
    _context.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Fields for the lines logged inside the block (e.g. while one Kafka record is applied)."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: fixed fields, the bound context, then the extras."""

    def __init__(self, service: str | None, process: str):
        super().__init__()
        self.service, self.process = service, process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "process": self.process,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
            **dict.fromkeys(TRACE_FIELDS),
            **_context.get(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Stdout(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stdout is at the time (a redirection may replace it)."""

    _waypoint: bool  # marks the handlers configure_logging() installed

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        """Always sys.stdout."""


def json_handler(service: str | None, process: str) -> logging.Handler:
    handler = _Stdout()
    handler.setFormatter(JsonFormatter(service, process))
    handler._waypoint = True
    return handler


def configure_logging(
    service: str | None = None, process: str = "worker", level: str = "INFO"
) -> None:
    """JSON lines on stdout for the root logger; calling it again replaces the handler."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_waypoint", False)]:
        root.removeHandler(handler)
    root.addHandler(json_handler(service, process))
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def service_of_app(app_uri: str | None) -> str | None:
    """`waypoint_goals.entrypoints.app:create_app()` → `goals`."""
    found = re.match(r"waypoint_(\w+?)\.", app_uri or "")
    return found.group(1) if found else None


class GunicornLogger(glogging.Logger):
    """gunicorn's error and access logs as JSON lines on stdout (`logger_class` in the conf)."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        service = service_of_app(cfg.default_proc_name)
        formatter = JsonFormatter(service, "web")
        if cfg.errorlog == "-":
            # gunicorn's own (private) way to replace its handler; its stubs leave it out.
            self._set_handler(self.error_log, "-", formatter, stream=sys.stdout)  # type: ignore[attr-defined]
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
        configure_logging(service, "web", cfg.loglevel)

    def access(
        self,
        resp: Response,
        req: Request,
        environ: MutableMapping[str, Any],
        request_time: timedelta,
    ) -> None:
        """One line per request; the path without its query (a query can carry personal data)."""
        if not self.access_log_enabled:
            return
        headers = {str(k).lower(): v for k, v in resp.headers}
        self.access_log.info(
            "request answered",
            extra={
                "request_id": headers.get("x-request-id"),
                "correlation_id": headers.get("x-correlation-id"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": resp.status_code,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
            },
        )
