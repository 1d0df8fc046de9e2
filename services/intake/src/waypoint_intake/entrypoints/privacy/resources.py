"""The client's privacy: erasure (crypto-shredding), subject-access export, and the access log."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import Connection, Engine

from waypoint_intake.entrypoints.clients.commands import client_route, on_client
from waypoint_intake.entrypoints.common import client_body, container, documents_problems
from waypoint_intake.entrypoints.privacy.schemas import ErasedSchema, ErasureSchema, ExportSchema
from waypoint_intake.service_layer import queries, roster
from waypoint_intake.service_layer.handlers import ClientCommand, Intake
from waypoint_shared.http.idempotency import Reply, written
from waypoint_shared.http.privacy import privacy_blueprint


def _engine() -> Engine:
    engine: Engine = container().engine
    return engine


def held(conn: Connection, tenant_id: str, client_id: str) -> dict[str, Any]:
    """What intake holds about the client: the record, its events, the reads."""
    client, holding = queries.subject_access(container().intake, conn, tenant_id, client_id)
    return {"client": client_body(client), **holding}


ERASURE_PROBLEMS = (404, 410, 412, 422)
blp = privacy_blueprint("intake", _engine, held, ExportSchema, documents_problems)


@client_route(
    blp,
    "/<uuid:client_id>/erasure",
    ErasureSchema(),
    answer=ErasedSchema,
    problems=ERASURE_PROBLEMS,
    scope="admin",
)
def erase_client(erasure: dict[str, Any], client_id: Any) -> Response:
    """Erase a client: keys destroyed here and, through `client_erased`, in every service"""
    recorded_by = erasure["recorded_by"]

    def work(intake: Intake, conn: Connection, cmd: ClientCommand) -> Reply:
        client = roster.erase_client(intake, conn, cmd, recorded_by)
        body = {"client_id": cmd.client_id, "status": "erased"}
        return written(200, body, client.version, subject=cmd.client_id)

    return on_client(client_id, recorded_by, work)
