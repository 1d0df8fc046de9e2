"""Goals' web entrypoint: `gunicorn 'waypoint_goals.entrypoints.app:create_app()'`.

Every domain refusal is mapped to problem+json here, in one place.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from waypoint_goals import config
from waypoint_goals.bootstrap import bootstrap
from waypoint_goals.domain.errors import (
    ClientNotEligible,
    ClientNotFound,
    ClientNotKnownYet,
    NotFound,
    NothingChanged,
    Refused,
    StepNotFound,
)
from waypoint_goals.entrypoints.check_ins.resources import blp as check_ins
from waypoint_goals.entrypoints.fhir.resources import blp as fhir
from waypoint_goals.entrypoints.goals.resources import blp as goals
from waypoint_goals.entrypoints.lifecycle.resources import blp as lifecycle
from waypoint_goals.entrypoints.plans.resources import blp as plans
from waypoint_goals.entrypoints.privacy.resources import blp as privacy
from waypoint_goals.entrypoints.steps.resources import blp as steps
from waypoint_shared.http.audit import install_read_audit
from waypoint_shared.http.erasure import ClientErased, gone, install_erasure_guard
from waypoint_shared.http.problems import (
    client_not_eligible,
    client_not_known_yet,
    problem_response,
)
from waypoint_shared.http.web import create_base_app

BLUEPRINTS = (goals, lifecycle, steps, check_ins, plans, privacy, fhir)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    container = bootstrap(config.settings())
    app = create_base_app(
        container.settings, container.engine, BLUEPRINTS, "Waypoint goals", test_config
    )
    app.extensions["waypoint"] = container
    install_erasure_guard(app, container.engine)
    install_read_audit(app, container.engine)
    for error, handler in ERROR_HANDLERS.items():
        app.register_error_handler(error, handler)
    return app


def _not_found(error: NotFound) -> Response:
    return problem_response(404, "Not Found", f"No goal {error} for this tenant.")


def _step_not_found(error: StepNotFound) -> Response:
    return problem_response(404, "Not Found", f"This goal has no action step {error}.")


def _client_not_found(error: ClientNotFound) -> Response:
    return problem_response(404, "Not Found", f"Goals has heard of no client {error}.")


def _client_not_known_yet(error: ClientNotKnownYet) -> Response:
    return client_not_known_yet("goals", str(error))


def _client_not_eligible(error: ClientNotEligible) -> Response:
    return client_not_eligible(error.client_id, error.reason, error.detail)


def _refused(error: Refused) -> Response:
    return problem_response(409, "Conflict", error.detail, **error.extra)


def _nothing_changed(error: NothingChanged) -> Response:
    detail = "Every value in changes equals the current one: there is nothing to revise."
    return problem_response(422, "Unprocessable Content", detail, errors={"changes": [detail]})


ERROR_HANDLERS: dict[type[Exception], Any] = {
    NotFound: _not_found,
    StepNotFound: _step_not_found,
    ClientNotFound: _client_not_found,
    ClientNotKnownYet: _client_not_known_yet,
    ClientNotEligible: _client_not_eligible,
    Refused: _refused,
    NothingChanged: _nothing_changed,
    ClientErased: gone,
}
