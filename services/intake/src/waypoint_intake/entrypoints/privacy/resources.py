"""The client's privacy: erasure (crypto-shredding), subject-access export, and the access log."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import Connection, Engine

from waypoint_intake.entrypoints.common import (
    client_body,
    client_command,
    container,
    documents_problems,
)
from waypoint_intake.entrypoints.privacy.schemas import ErasedSchema, ErasureSchema, ExportSchema
from waypoint_intake.service_layer import queries, roster
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute, written
from waypoint_shared.http.privacy import privacy_blueprint


def _engine() -> Engine:
    engine: Engine = container().engine
    return engine


def held(conn: Connection, tenant_id: str, client_id: str) -> dict[str, Any]:
    """What intake holds about the client: the record, its events, the reads."""
    client, holding = queries.subject_access(container().intake, conn, tenant_id, client_id)
    return {"client": client_body(client), **holding}


blp = privacy_blueprint("intake", _engine, held, ExportSchema, documents_problems)


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
