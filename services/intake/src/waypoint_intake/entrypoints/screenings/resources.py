"""The screenings resource: record a baseline PHQ-9 or GAD-7, scored by the service."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.clients.commands import client_route, on_client
from waypoint_intake.entrypoints.common import states_body
from waypoint_intake.entrypoints.screenings.schemas import (
    ScreeningResultSchema,
    ScreeningSchema,
    instrument_shapes,
)
from waypoint_intake.service_layer import handlers
from waypoint_intake.service_layer.handlers import ClientCommand, Intake
from waypoint_shared.http.idempotency import Reply, written

blp = Blueprint("screenings", __name__, url_prefix="/v1/clients", description="Screenings")


@client_route(blp, "/<uuid:client_id>/screenings", ScreeningSchema(), answer=ScreeningResultSchema)
@states_body(blp, ScreeningSchema(), instrument_shapes())
def record_screening(screening: dict[str, Any], client_id: Any) -> Response:
    """Record a screening; answers its total, severity and (PHQ-9) risk flag"""

    def work(intake: Intake, conn: Connection, cmd: ClientCommand) -> Reply:
        client, screening_id = handlers.record_screening(
            intake,
            conn,
            cmd,
            screening["instrument"],
            screening["items"],
            screening.get("administered_on"),
        )
        [result] = [s for s in client.screenings if s["screening_id"] == screening_id]
        if result["instrument"] != "PHQ-9":
            result = {k: v for k, v in result.items() if k != "risk_flag"}
        body = ScreeningResultSchema().dump({**result, "client_id": client.client_id})
        return written(200, body, client.version, subject=client.client_id)

    return on_client(client_id, screening["recorded_by"], work)
