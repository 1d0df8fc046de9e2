"""Intake's web entrypoint: `gunicorn 'waypoint_intake.entrypoints.app:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from waypoint_intake import config
from waypoint_intake.bootstrap import bootstrap
from waypoint_intake.domain.client import NotFound
from waypoint_intake.entrypoints.clients.resources import blp as clients
from waypoint_intake.service_layer.handlers import AlreadyReferred
from waypoint_shared.problems import problem_response
from waypoint_shared.web import create_base_app


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    container = bootstrap(config.settings())
    app = create_base_app(
        container.settings, container.engine, [clients], "Waypoint intake", test_config
    )
    app.extensions["waypoint"] = container
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(AlreadyReferred, _already_referred)
    return app


def _not_found(error: NotFound) -> Response:
    return problem_response(404, "Not Found", f"No client {error} for this tenant.")


def _already_referred(error: AlreadyReferred) -> Response:
    return problem_response(
        409,
        "Conflict",
        "A client with this external_id was already referred.",
        client_id=error.client_id,
        location=f"/v1/clients/{error.client_id}",
    )
