"""Progress's web entrypoint: `gunicorn 'waypoint_progress.entrypoints.app:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from waypoint_progress import config
from waypoint_progress.bootstrap import bootstrap
from waypoint_progress.domain.errors import (
    AlertNotFound,
    AlreadyAcknowledged,
    ClientNotEligible,
    ClientNotKnownYet,
    ClientNotSeen,
    SessionNotFound,
)
from waypoint_progress.entrypoints import rebuild
from waypoint_progress.entrypoints.alerts.resources import blp as alerts
from waypoint_progress.entrypoints.fhir.resources import blp as fhir
from waypoint_progress.entrypoints.measures.resources import blp as measures
from waypoint_progress.entrypoints.privacy.resources import blp as privacy
from waypoint_progress.entrypoints.sessions.resources import blp as sessions
from waypoint_progress.entrypoints.timeline.resources import blp as timeline
from waypoint_progress.service_layer.queries import BadCursor
from waypoint_shared.http.audit import install_read_audit
from waypoint_shared.http.erasure import ClientErased, gone, install_erasure_guard
from waypoint_shared.http.problems import (
    client_not_eligible,
    client_not_known_yet,
    problem_response,
)
from waypoint_shared.http.web import create_base_app

BLUEPRINTS = (timeline, sessions, alerts, measures, privacy, fhir)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    container = bootstrap(config.settings())
    app = create_base_app(
        container.settings, container.engine, BLUEPRINTS, "Waypoint progress", test_config
    )
    app.extensions["waypoint"] = container
    install_erasure_guard(app, container.engine)
    install_read_audit(app, container.engine)
    app.register_error_handler(ClientErased, gone)
    app.register_error_handler(ClientNotSeen, _client_not_seen)
    app.register_error_handler(BadCursor, _bad_cursor)
    app.register_error_handler(SessionNotFound, _not_found("session"))
    app.register_error_handler(AlertNotFound, _not_found("alert"))
    app.register_error_handler(AlreadyAcknowledged, _already_acknowledged)
    app.register_error_handler(ClientNotKnownYet, _client_not_known_yet)
    app.register_error_handler(ClientNotEligible, _client_not_eligible)
    app.cli.add_command(rebuild.command)
    return app


def _client_not_seen(error: ClientNotSeen) -> Response:
    return problem_response(404, "Not Found", f"Progress has seen no event of client {error}.")


def _bad_cursor(_error: BadCursor) -> Response:
    return problem_response(
        422,
        "Unprocessable Content",
        "The cursor is not valid.",
        errors={"cursor": ["Not a cursor this service handed out."]},
    )


def _not_found(what: str) -> Any:
    def answer(error: Exception) -> Response:
        return problem_response(404, "Not Found", f"No {what} {error} of this client.")

    return answer


def _already_acknowledged(error: AlreadyAcknowledged) -> Response:
    return problem_response(409, "Conflict", f"Alert {error} was acknowledged before.")


def _client_not_known_yet(error: ClientNotKnownYet) -> Response:
    return client_not_known_yet("progress", str(error))


def _client_not_eligible(error: ClientNotEligible) -> Response:
    return client_not_eligible(error.client_id, error.reason, error.detail)
