"""What the client brings and what they were told: cultural context and expectations."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.client_schemas import ClientSchema
from waypoint_intake.entrypoints.common import (
    client_command,
    client_written,
    container,
    documents_problems,
)
from waypoint_intake.entrypoints.context.schemas import (
    CulturalContextRequestSchema,
    ExpectationsSchema,
)
from waypoint_intake.service_layer import handlers
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute

blp = Blueprint(
    "context", __name__, url_prefix="/v1/clients", description="Cultural context, expectations"
)


@blp.route("/<uuid:client_id>/cultural-context", methods=["PUT"])
@blp.arguments(CulturalContextRequestSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def record_cultural_context(context: dict[str, Any], client_id: Any) -> Response:
    """Record (replace) a client's cultural context and therapist preferences"""
    app, cmd = container(), client_command(client_id, context.pop("recorded_by"))

    def work(conn: Connection) -> Reply:
        return client_written(handlers.record_cultural_context(app.intake, conn, cmd, context))

    return execute(app.engine, work)


@blp.route("/<uuid:client_id>/expectations", methods=["POST"])
@blp.arguments(ExpectationsSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def acknowledge_expectations(acknowledgement: dict[str, Any], client_id: Any) -> Response:
    """Acknowledge expectations and boundaries"""
    app, cmd = container(), client_command(client_id, acknowledgement["acknowledged_by"])

    def work(conn: Connection) -> Reply:
        client = handlers.acknowledge_expectations(app.intake, conn, cmd, acknowledgement)
        return client_written(client)

    return execute(app.engine, work)
