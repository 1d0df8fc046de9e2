"""The screenings resource: record a baseline PHQ-9 or GAD-7, scored by the service."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.common import client_command, container, documents_problems
from waypoint_intake.entrypoints.screenings.schemas import ScreeningResultSchema, ScreeningSchema
from waypoint_intake.service_layer import handlers
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute, written

blp = Blueprint("screenings", __name__, url_prefix="/v1/clients", description="Screenings")


@blp.route("/<uuid:client_id>/screenings", methods=["POST"])
@blp.arguments(ScreeningSchema())
@blp.response(200, ScreeningResultSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def record_screening(screening: dict[str, Any], client_id: Any) -> Response:
    """Record a screening; answers its total, severity and (PHQ-9) risk flag"""
    app, cmd = container(), client_command(client_id, screening["recorded_by"])

    def work(conn: Connection) -> Reply:
        client, screening_id = handlers.record_screening(
            app.intake, conn, cmd, screening["instrument"], screening["items"]
        )
        [result] = [s for s in client.screenings if s["screening_id"] == screening_id]
        if result["instrument"] != "PHQ-9":
            result = {k: v for k, v in result.items() if k != "risk_flag"}
        body = ScreeningResultSchema().dump({**result, "client_id": client.client_id})
        return written(200, body, client.version, subject=client.client_id)

    return execute(app.engine, work)
