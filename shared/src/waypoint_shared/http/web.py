"""The Flask/flask-smorest base every service's `create_app()` builds on."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import Engine, text

from waypoint_shared.config import SERVICES, Settings, web_server_settings
from waypoint_shared.crypto.sealing import CryptoError, UnreadableRecord
from waypoint_shared.eventstore.store import ConcurrencyConflict
from waypoint_shared.http.auth import TokenVerifier, install_auth, requires
from waypoint_shared.http.idempotency import install_idempotency
from waypoint_shared.http.openapi import ProblemApi, ProblemResponses, SchemaKeywords
from waypoint_shared.http.problems import Problem, install_problem_handlers, problem_response
from waypoint_shared.http.ratelimit import RateLimiter, install_rate_limit
from waypoint_shared.observability import logs, metrics

JSON_TYPES = ("application/json",)
WRITE_METHODS = ("POST", "PUT", "PATCH")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # the form the event envelope accepts
MAX_JSON_DEPTH = 32  # nesting of arrays and objects in a body; no schema of ours needs 6
# The longest query string answered: every documented query, each parameter at its maxLength and
# percent-encoded, fits well within it.
MAX_QUERY_BYTES = 6_144  # below gunicorn_conf.limit_request_line, path and method included
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
# On every answer: nothing here may be kept by a cache, nor its content type second-guessed.
SAFETY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
CONTAINER = "waypoint"  # the key of the service's container in `app.extensions`
C = TypeVar("C")


def create_base_app(
    settings: Settings,
    engine: Engine,
    blueprints: Iterable[Blueprint],
    title: str,
) -> Flask:
    """A Flask app with OpenAPI 3.1, problem+json errors, bearer auth, health and metrics."""
    app = Flask(f"waypoint_{settings.service}")
    app.config.update(
        WAYPOINT_PUBLIC_URL=settings.public_url,
        WAYPOINT_PUBLIC_URLS={s: settings.public_url_of(s) for s in SERVICES},
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [ProblemResponses(), SchemaKeywords()]})
    # webargs excludes unknown query parameters by default; let each query schema's
    # `Meta.unknown` decide (RAISE under /v1, so a misspelt filter is a 422, not ignored).
    parser = Blueprint.ARGUMENTS_PARSER  # one parser instance, shared by every blueprint
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None}
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    install_problem_handlers(app)
    app.register_error_handler(ConcurrencyConflict, _conflict)
    app.register_error_handler(CryptoError, _unreadable)
    app.before_request(_take_request_id)  # first, so even a 401 carries the request id
    app.before_request(_refuse_long_query)
    install_auth(app, TokenVerifier(settings.jwt_secret, settings.jwt_public_key))
    threads = web_server_settings().threads  # requests this process serves at once
    install_rate_limit(app, settings.service, RateLimiter(engine, settings.rate_limit, threads))
    app.before_request(_bind_caller)
    app.before_request(_require_json_body)
    app.before_request(_refuse_deep_json)
    app.after_request(_return_request_id)
    app.after_request(_add_safety_headers)
    app.after_request(_observe(settings.service))
    app.teardown_request(_unbind_log_context)
    _add_operational_routes(app, engine, settings.metrics_dir)
    install_idempotency(app, engine, settings)
    return app


def current_container(kind: type[C]) -> C:
    """The service's wired dependencies, as the type its composition root builds."""
    found = current_app.extensions[CONTAINER]
    if not isinstance(found, kind):
        raise TypeError(f"the app holds a {type(found).__name__}, not a {kind.__name__}")
    return found


def _conflict(error: ConcurrencyConflict) -> Response:
    """A stale write: 412 when the caller sent If-Match, else 409."""
    if request.headers.get("If-Match"):
        return problem_response(
            412,
            "Precondition Failed",
            "The resource changed since the version in If-Match.",
            current_version=error.actual,
        )
    return problem_response(
        409,
        "Conflict",
        "The resource changed while this write was made; read it again and retry.",
        current_version=error.actual,
    )


def _unreadable(error: CryptoError) -> Response:
    """Stored personal data that does not open where it is stored (moved, tampered with, or its
    key damaged): nothing of the record is answered — never another client's data, never a 500."""
    client_id = error.client_id if isinstance(error, UnreadableRecord) else None
    named: dict[str, Any] = {"client_id": client_id} if client_id else {}
    return problem_response(
        409,
        "Record unreadable",
        "The stored personal data of this record does not open where it is stored; nothing "
        "of it is answered or changed. An operator must restore the record.",
        **named,
    )


def public_url(path: str = "") -> str:
    """An absolute URL of this service: its configured public base URL, never the Host header."""
    return f"{current_app.config['WAYPOINT_PUBLIC_URL']}{path}"


def public_url_of_request() -> str:
    """The current request's absolute URL (path and query) under the public base URL."""
    query = request.query_string.decode("latin-1")
    return public_url(f"{request.path}?{query}" if query else request.path)


def _take_request_id() -> None:
    """Every request gets an id of the service's own (the audit's `request_id`, which a caller
    cannot choose); the caller's X-Request-ID, if well-formed, is kept as the correlation id that
    travels with the events (a new id when they sent none)."""
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = str(uuid.uuid4())
    g.correlation_id = given if REQUEST_ID.fullmatch(given) else g.request_id
    g.log_context = logs.bind(request_id=g.request_id, correlation_id=g.correlation_id)


def _bind_caller() -> None:
    """Log lines of this request name the tenant and the client it concerns (ids only)."""
    caller = g.get("principal")
    client_id = (request.view_args or {}).get("client_id")
    logs.bind(
        tenant=caller.tenant if caller else None,
        client_id=str(client_id) if client_id else None,
    )


def _unbind_log_context(_error: BaseException | None) -> None:
    if "log_context" in g:
        logs.unbind(g.pop("log_context"))


def _observe(service: str) -> Callable[[Response], Response]:
    """Count and time every answer by URL rule (not path: ids would explode the series)."""

    def observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        labels = (service, request.method, route, str(response.status_code))
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.HTTP_DURATION.labels(*labels).observe(elapsed)
        return response

    return observe


def _return_request_id(response: Response) -> Response:
    """The service's id of this request, and the correlation id the caller sent (or got)."""
    response.headers["X-Request-ID"] = g.get("request_id") or ""
    response.headers["X-Correlation-ID"] = g.get("correlation_id") or ""
    return response


def _add_safety_headers(response: Response) -> Response:
    response.headers.update(SAFETY_HEADERS)
    return response


def _refuse_long_query() -> None:
    """A query string longer than MAX_QUERY_BYTES is a 400 (gunicorn passes request lines of up
    to 8190 bytes; its worker class answers a longer one with a 400 too)."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        raise Problem(
            400, "Bad Request", f"The query string is longer than {MAX_QUERY_BYTES} bytes."
        )


def _require_json_body() -> None:
    """A write's body must be JSON; a method the path does not take is answered 405 first."""
    if request.routing_exception is not None:
        return
    writing = request.method in WRITE_METHODS and request.path.startswith("/v1/")
    if writing and request.mimetype not in JSON_TYPES:
        raise Problem(
            415, "Unsupported Media Type", "Send JSON with Content-Type: application/json."
        )


def _refuse_deep_json() -> None:
    """A body nested deeper than MAX_JSON_DEPTH is a 400 before any parser recurses into it."""
    body = request.get_data(cache=True)
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return  # the common case, decided at C speed
    if json_depth(body) > MAX_JSON_DEPTH:
        raise Problem(
            400,
            "Bad Request",
            f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects.",
        )


def json_depth(body: bytes, stop_above: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings aside),
    counted until it exceeds stop_above. Malformed text gets a depth too; the parser answers
    for it afterwards."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
        if deepest > stop_above:
            break
    return deepest


def _add_operational_routes(app: Flask, engine: Engine, metrics_dir: str | None) -> None:
    @app.get("/health/live")
    def live() -> Response:
        return jsonify(status="ok")

    @app.get("/health/ready")
    def ready() -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return problem_response(503, "Service Unavailable", "The database is not reachable.")
        return jsonify(status="ok")

    @app.get("/metrics")
    @requires("metrics", "admin")
    def exposition() -> Response:
        """Prometheus exposition; a bearer token with scope `metrics` (or `admin`) is needed."""
        body, content_type = metrics.exposition(metrics_dir)
        return Response(body, content_type=content_type)
