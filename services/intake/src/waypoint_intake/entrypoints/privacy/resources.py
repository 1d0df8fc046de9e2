"""The client's privacy: erasure (crypto-shredding), subject-access export, and the access log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.common import (
    client_body,
    client_command,
    container,
    documents_problems,
)
from waypoint_intake.entrypoints.privacy.schemas import (
    AccessLogQuerySchema,
    AccessLogSchema,
    ErasedSchema,
    ErasureSchema,
    ExportSchema,
)
from waypoint_intake.service_layer import queries, roster
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, written

blp = Blueprint("privacy", __name__, url_prefix="/v1/clients", description="Privacy")


@blp.route("/<uuid:client_id>/erasure", methods=["POST"])
@blp.arguments(ErasureSchema())
@blp.response(200, ErasedSchema)
@documents_problems(blp, 404, 410, 412, 422)
@requires("admin")
def erase_client(erasure: dict[str, Any], client_id: Any) -> Response:
    """Erase a client: keys destroyed here and, through `client_erased`, in every service"""
    app, cmd = container(), client_command(client_id, erasure["recorded_by"])

    def work(conn: Connection) -> Reply:
        client = roster.erase_client(app.intake, conn, cmd, erasure["recorded_by"])
        body = {"client_id": cmd.client_id, "status": "erased"}
        return written(200, body, client.version, subject=cmd.client_id)

    return execute(app.engine, work)


@blp.route("/<uuid:client_id>/export", methods=["GET"])
@blp.response(200, ExportSchema)
@documents_problems(blp, 404, 410)
@requires("admin")
def export_client(client_id: Any) -> dict[str, Any]:
    """Export everything intake holds about a client, decrypted (subject access)"""
    app = container()
    with read(app.engine) as conn:
        client, held = queries.subject_access(app.intake, conn, principal().tenant, str(client_id))
    return {
        "service": "intake",
        "client_id": client_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "client": client_body(client),
        **held,
    }


@blp.route("/<uuid:client_id>/access-log", methods=["GET"])
@blp.arguments(AccessLogQuerySchema(), location="query")
@blp.response(200, AccessLogSchema)
@documents_problems(blp, 410, 422)
@requires("admin")
def access_log(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """List who read a client's data here, in order (append-only: it cannot be changed)"""
    app, after = container(), int(query.get("cursor", 0))
    with read(app.engine) as conn:
        items, next_cursor = audit.access_log(
            conn, principal().tenant, str(client_id), after, query["limit"]
        )
    return {"client_id": client_id, "items": items, "next_cursor": next_cursor}
