"""RFC 9457 problem details for every error the HTTP API returns."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from werkzeug.exceptions import HTTPException

from waypoint_shared.db.database import is_unavailable

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
E = TypeVar("E", bound=Exception)


class Problem(Exception):
    """An error answered as problem+json; raised anywhere under a request."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.extra = headers or {}, extra


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An RFC 9457 problem; under `/fhir` the same error as a FHIR OperationOutcome."""
    if request.path.startswith("/fhir"):
        return operation_outcome(status, title, detail, headers, **extra)
    body = {"type": "about:blank", "title": title, "status": status, **extra}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


FHIR_JSON = "application/fhir+json"
_FHIR_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def operation_outcome(
    status: int,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A FHIR R4 OperationOutcome for errors under `/fhir` (integrators speak FHIR there)."""
    issues: list[dict[str, Any]] = [
        {
            "severity": "error",
            "code": _FHIR_CODES.get(status, "exception"),
            "diagnostics": f"{title}: {detail}" if detail else title,
        }
    ]
    for field, messages in (extra.get("errors") or {}).items():
        issues.append(
            {
                "severity": "error",
                "code": "invalid",
                "expression": [field],
                "diagnostics": str(messages),
            }
        )
    body = {"resourceType": "OperationOutcome", "issue": issues}
    response = Response(json.dumps(body), status=status, mimetype=FHIR_JSON)
    response.headers.update(headers or {})
    return response


def _from_problem(error: Problem) -> Response:
    return problem_response(error.status, error.title, error.detail, error.headers, **error.extra)


def _from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    extra: dict[str, Any] = {}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status in (400, 422) and messages:  # a query (400 under /fhir) or a body
        extra["errors"] = _field_errors(messages)
        detail: str | None = "The request body or parameters are not valid."
    else:
        detail = _DETAILS.get(status, error.description)
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem_response(status, _TITLES.get(status, error.name), detail, headers, **extra)


def _from_unexpected(error: Exception) -> Response:
    log.exception("unexpected error while handling %s %s", request.method, request.path)
    return problem_response(
        500,
        "Internal Server Error",
        "The server could not complete the request; nothing was stored.",
    )


def _field_errors(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests errors by location (json, query, …); integrators want the field names."""
    flat: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


_TITLES = {
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
}  # RFC 9110 names
_DETAILS = {
    400: "The request body is not valid JSON.",
    404: "No resource at this path.",
    405: "This method is not allowed on this path.",
    413: "The request body is larger than this service accepts.",
    415: "Send JSON with Content-Type: application/json.",
}


def install_problem_handlers(app: Flask) -> None:
    """Map every error to problem+json: ours, Werkzeug's, flask-smorest's, and the unexpected."""
    app.register_error_handler(Problem, _from_problem)
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(Exception, _from_unexpected)
    app.register_error_handler(DBAPIError, _from_database_error)
    app.register_error_handler(PendingRollbackError, _from_database_error)


def _from_database_error(error: DBAPIError | PendingRollbackError) -> Response:
    """503 while the database is unreachable (restarting, failed over): the pool reconnects by
    itself, so the client retries; any other database error is unexpected (500)."""
    if not is_unavailable(error):
        return _from_unexpected(error)
    log.warning(
        "database unavailable while handling %s %s: %s", request.method, request.path, error
    )
    return problem_response(
        503,
        "Service Unavailable",
        "The database is not reachable. Retry shortly with the same Idempotency-Key: "
        "a command whose answer was lost is then not stored twice.",
        {"Retry-After": "1"},
    )


def _no_extra(_error: Exception) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class ErrorMapping(Generic[E]):
    """How one domain exception is answered: its status and title, a detail made from the error,
    and any further members of the problem body (`extra`) and headers."""

    error: type[E]
    status: int
    title: str
    detail: Callable[[E], str] = str
    extra: Callable[[E], Mapping[str, Any]] = _no_extra
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def answer(self, error: E) -> Response:
        detail, extra = self.detail(error), self.extra(error)
        return problem_response(self.status, self.title, detail, dict(self.headers), **extra)


def install_error_mappings(app: Flask, mappings: Iterable[ErrorMapping[Any]]) -> None:
    """Answer each mapped exception as its mapping says, wherever it is raised under a request."""
    for mapping in mappings:
        app.register_error_handler(mapping.error, mapping.answer)


def client_not_known_yet(service: str, error: type[E]) -> ErrorMapping[E]:
    """409 while a listening service has not yet received a client's referral from intake (the
    services are eventually consistent): retry shortly. The error's message is the client id."""
    return ErrorMapping(
        error,
        409,
        "Conflict",
        lambda _error: (
            f"client not known yet: {service} has not yet received "
            "this client's referral from intake; retry shortly."
        ),
        lambda error: {"client_id": str(error)},
        {"Retry-After": "1"},
    )


def bad_cursor(error: type[E]) -> ErrorMapping[E]:
    """422 for a paging cursor the service did not hand out."""
    return ErrorMapping(
        error,
        422,
        "Unprocessable Content",
        lambda _error: "The cursor is not valid.",
        lambda _error: {"errors": {"cursor": ["Not a cursor this service handed out."]}},
    )


def client_not_eligible(error: type[E]) -> ErrorMapping[E]:
    """409 for a client intake has discharged or whose treatment consent was revoked; the error's
    message is the detail, and its `client_id` and `reason` go into the body."""
    return ErrorMapping(
        error,
        409,
        "Conflict",
        extra=lambda found: {key: vars(found)[key] for key in ("client_id", "reason")},
    )
