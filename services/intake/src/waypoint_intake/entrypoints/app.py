"""Intake's web entrypoint: `gunicorn 'waypoint_intake.entrypoints.app:create_app()'`.

Every domain refusal is mapped to problem+json here, in one place; under /fhir the same
problems are answered as FHIR OperationOutcome.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from waypoint_intake import config
from waypoint_intake.adapters.indexes import BadCursor, ExternalIdTaken
from waypoint_intake.bootstrap import bootstrap
from waypoint_intake.domain.errors import (
    IntakeIncomplete,
    InvalidRequest,
    NotFound,
    Refused,
    TherapistNotFound,
)
from waypoint_intake.entrypoints.assignment.resources import blp as assignment
from waypoint_intake.entrypoints.clients.resources import blp as clients
from waypoint_intake.entrypoints.consents.resources import blp as consents
from waypoint_intake.entrypoints.context.resources import blp as context
from waypoint_intake.entrypoints.fhir.resources import blp as fhir
from waypoint_intake.entrypoints.lifecycle.resources import blp as lifecycle
from waypoint_intake.entrypoints.privacy.resources import blp as privacy
from waypoint_intake.entrypoints.screenings.resources import blp as screenings
from waypoint_intake.entrypoints.therapists.resources import blp as therapists
from waypoint_shared.http.audit import install_read_audit
from waypoint_shared.http.erasure import ClientErased, gone, install_erasure_guard
from waypoint_shared.http.problems import problem_response
from waypoint_shared.http.web import create_base_app

BLUEPRINTS = (
    clients,
    context,
    consents,
    screenings,
    therapists,
    assignment,
    lifecycle,
    privacy,
    fhir,
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    container = bootstrap(config.settings())
    app = create_base_app(
        container.settings, container.engine, BLUEPRINTS, "Waypoint intake", test_config
    )
    app.extensions["waypoint"] = container
    install_erasure_guard(app, container.engine)
    install_read_audit(app, container.engine)
    for error, handler in ERROR_HANDLERS.items():
        app.register_error_handler(error, handler)
    return app


def _not_found(error: NotFound) -> Response:
    return problem_response(404, "Not Found", f"No client {error} for this tenant.")


def _therapist_not_found(error: TherapistNotFound) -> Response:
    return problem_response(404, "Not Found", f"No therapist {error} on this tenant's roster.")


def _already_referred(error: ExternalIdTaken) -> Response:
    return problem_response(
        409,
        "Conflict",
        "A client with this external_id was already referred.",
        client_id=error.client_id,
        location=f"/v1/clients/{error.client_id}",
    )


def _invalid(error: InvalidRequest) -> Response:
    detail = "The request breaks a rule of intake."
    return problem_response(422, "Unprocessable Content", detail, errors=error.errors)


def _incomplete(error: IntakeIncomplete) -> Response:
    detail = f"Intake cannot be completed yet; missing: {', '.join(error.missing)}."
    return problem_response(422, "Unprocessable Content", detail, missing=error.missing)


def _refused(error: Refused) -> Response:
    return problem_response(409, "Conflict", str(error))


def _bad_cursor(_error: BadCursor) -> Response:
    errors = {"cursor": ["Not a cursor this service handed out."]}
    return problem_response(422, "Unprocessable Content", "The cursor is not valid.", errors=errors)


ERROR_HANDLERS: dict[type[Exception], Any] = {
    NotFound: _not_found,
    TherapistNotFound: _therapist_not_found,
    ExternalIdTaken: _already_referred,
    InvalidRequest: _invalid,
    IntakeIncomplete: _incomplete,
    Refused: _refused,
    BadCursor: _bad_cursor,
    ClientErased: gone,
}
