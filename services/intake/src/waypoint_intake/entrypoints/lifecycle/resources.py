"""The client's passage through intake: completing it, and discharge at the end of treatment."""

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
from waypoint_intake.entrypoints.lifecycle.schemas import CompletionSchema, DischargeSchema
from waypoint_intake.service_layer import handlers, roster
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute

blp = Blueprint("lifecycle", __name__, url_prefix="/v1/clients", description="Completion")


@blp.route("/<uuid:client_id>/completion", methods=["POST"])
@blp.arguments(CompletionSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def complete_intake(completion: dict[str, Any], client_id: Any) -> Response:
    """Complete intake (422 listing every missing requirement until all hold)"""
    app, cmd = container(), client_command(client_id, completion["recorded_by"])

    def work(conn: Connection) -> Reply:
        return client_written(handlers.complete_intake(app.intake, conn, cmd))

    return execute(app.engine, work)


@blp.route("/<uuid:client_id>/discharge", methods=["POST"])
@blp.arguments(DischargeSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def discharge(discharge_: dict[str, Any], client_id: Any) -> Response:
    """Discharge a client at the end of treatment (frees their therapist's place)"""
    app, cmd = container(), client_command(client_id, discharge_["recorded_by"])

    def work(conn: Connection) -> Reply:
        return client_written(roster.discharge(app.intake, conn, cmd, discharge_["reason"]))

    return execute(app.engine, work)
