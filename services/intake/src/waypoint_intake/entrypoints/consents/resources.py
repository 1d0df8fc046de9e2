"""The consents resource: grant a consent, revoke it."""

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
from waypoint_intake.entrypoints.consents.schemas import ConsentGrantSchema, RevocationSchema
from waypoint_intake.service_layer import handlers
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute

blp = Blueprint("consents", __name__, url_prefix="/v1/clients", description="Consents")


@blp.route("/<uuid:client_id>/consents", methods=["POST"])
@blp.arguments(ConsentGrantSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def grant_consent(consent: dict[str, Any], client_id: Any) -> Response:
    """Grant a consent (treatment, confidentiality or data sharing)"""
    app, cmd = container(), client_command(client_id, consent.pop("recorded_by"))
    consent["signed_at"] = consent["signed_at"].isoformat()

    def work(conn: Connection) -> Reply:
        return client_written(handlers.grant_consent(app.intake, conn, cmd, consent))

    return execute(app.engine, work)


@blp.route(
    "/<uuid:client_id>/consents/<any(treatment, confidentiality, data_sharing):kind>/revocation",
    methods=["POST"],
)
@blp.arguments(RevocationSchema())
@blp.response(200, ClientSchema)
@documents_problems(blp, 404, 409, 412, 422)
@requires("intake:write")
def revoke_consent(revocation: dict[str, Any], client_id: Any, kind: str) -> Response:
    """Revoke a consent"""
    app, cmd = container(), client_command(client_id, revocation.pop("recorded_by"))

    def work(conn: Connection) -> Reply:
        client = handlers.revoke_consent(app.intake, conn, cmd, kind, **revocation)
        return client_written(client)

    return execute(app.engine, work)
