"""The alerts resource: acknowledging an alert with what was done."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_progress.entrypoints.alerts.schemas import AcknowledgedSchema, AcknowledgementSchema
from waypoint_progress.entrypoints.common import container
from waypoint_progress.service_layer import handlers
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.runtime import request_metadata

blp = Blueprint("alerts", __name__, url_prefix="/v1", description="Alerts that need care")


@blp.route("/clients/<uuid:client_id>/alerts/<uuid:alert_id>/acknowledgement", methods=["POST"])
@blp.arguments(AcknowledgementSchema)
@blp.response(200, AcknowledgedSchema)
@blp.alt_response(404, description="No such alert of this client")
@blp.alt_response(409, description="The alert was acknowledged before")
@requires("progress:write")
def acknowledge_alert(acknowledgement: dict[str, Any], client_id: Any, alert_id: Any) -> Response:
    """Acknowledge an alert and say what was done"""
    wired = container()
    tenant = principal().tenant
    metadata = request_metadata(acting=acknowledgement["acknowledged_by"])
    expected = expected_version_from_if_match()

    def work(conn: Connection) -> Reply:
        recorded = handlers.acknowledge_alert(
            wired.progress,
            conn,
            tenant,
            str(client_id),
            str(alert_id),
            acknowledgement,
            metadata,
            expected,
        )
        body = {
            **acknowledgement,
            "alert_id": str(alert_id),
            "client_id": str(client_id),
            "acknowledged_at": recorded.occurred_at.isoformat(),
            "version": recorded.stream_version,
        }
        body = AcknowledgedSchema().dump(body)
        return written(200, body, recorded.stream_version, subject=str(client_id))

    return execute(wired.engine, work)
