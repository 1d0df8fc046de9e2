"""The clients resource: refer a client, read a client."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.clients.schemas import AsOfSchema, ClientSchema, ReferralSchema
from waypoint_intake.service_layer import handlers
from waypoint_shared.auth import principal, requires
from waypoint_shared.commands import Reply, execute, written
from waypoint_shared.database import read
from waypoint_shared.runtime import request_metadata

blp = Blueprint("clients", __name__, url_prefix="/v1/clients", description="Client records")


def _container() -> Any:
    return current_app.extensions["waypoint"]


@blp.route("", methods=["POST"])
@blp.arguments(ReferralSchema)
@blp.response(201, ClientSchema)
@requires("intake:write")
def refer_client(referral: dict[str, Any]) -> Response:
    """Refer a client"""
    container = _container()
    details = {**referral, "date_of_birth": referral["date_of_birth"].isoformat()}
    tenant, metadata = principal().tenant, request_metadata()

    def work(conn: Connection) -> Reply:
        event = handlers.refer_client(container.intake, conn, tenant, details, metadata)
        body = ClientSchema().dump(
            {
                **details,
                "client_id": event.client_id,
                "status": "referred",
                "version": event.stream_version,
            }
        )
        return written(201, body, event.stream_version, f"/v1/clients/{event.client_id}")

    return execute(container.engine, work)


@blp.route("/<uuid:client_id>", methods=["GET"])
@blp.arguments(AsOfSchema, location="query")
@blp.response(200, ClientSchema)
@requires("intake:read")
def get_client(query: dict[str, Any], client_id: Any) -> Response:
    """Read a client (optionally as it was at `as_of`)"""
    container = _container()
    with read(container.engine) as conn:
        client = handlers.load_client(
            container.intake, conn, principal().tenant, str(client_id), query.get("as_of")
        )
    body = ClientSchema().dump(
        {
            **client.details,
            "client_id": client.client_id,
            "status": client.status,
            "version": client.version,
        }
    )
    return Reply(200, body, {"ETag": f'"{client.version}"'}).to_response()
