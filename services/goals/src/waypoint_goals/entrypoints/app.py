"""Goals' web entrypoint: `gunicorn 'waypoint_goals.entrypoints.app:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from waypoint_goals import config
from waypoint_goals.bootstrap import bootstrap
from waypoint_goals.domain.goal import ClientNotKnownYet, NotFound
from waypoint_goals.entrypoints.goals.resources import blp as goals
from waypoint_shared.problems import problem_response
from waypoint_shared.web import create_base_app


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    container = bootstrap(config.settings())
    app = create_base_app(
        container.settings, container.engine, [goals], "Waypoint goals", test_config
    )
    app.extensions["waypoint"] = container
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(ClientNotKnownYet, _client_not_known_yet)
    return app


def _not_found(error: NotFound) -> Response:
    return problem_response(404, "Not Found", f"No goal {error} for this tenant.")


def _client_not_known_yet(error: ClientNotKnownYet) -> Response:
    return problem_response(
        409,
        "Conflict",
        "client not known yet: goals has not yet received "
        "this client's referral from intake; retry shortly.",
        {"Retry-After": "1"},
        client_id=str(error),
    )
