"""The privacy routes every service answers alike: a client's subject-access export and the
access log of reads of their data. Each service supplies what it holds about the client (opened)
and the schema of that; erasure is asked of intake alone and added to its blueprint there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import Connection, Engine

from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.audit import AccessLogQuerySchema, AccessLogSchema, AccessRecordSchema
from waypoint_shared.http.auth import principal, requires

F = TypeVar("F", bound=Callable[..., Any])
Held = Callable[[Connection, str, str], dict[str, Any]]
"""(connection, tenant, client id) → what the service holds about the client, opened."""


class Documents(Protocol):
    """(blueprint, *statuses) → a decorator adding those problem responses to a view's OpenAPI."""

    def __call__(self, blp: Blueprint, *statuses: int) -> Callable[[F], F]: ...


GONE = "the client was erased"
SUMMARY = "Export everything {service} holds about a client, decrypted (subject access)"


class ExportedEventSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    stream_id = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.Dict(allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "personal fields opened"})


class ExportSchema(Schema):
    """What every service's export carries; each service adds the views it holds."""

    service = fields.String(required=True)
    client_id = fields.UUID(required=True)
    exported_at = fields.String(required=True)
    events = fields.List(fields.Nested(ExportedEventSchema), required=True)
    access_log = fields.List(fields.Nested(AccessRecordSchema), required=True)


def described(not_found: str) -> Documents:
    """Problem responses documented by description alone."""
    descriptions = {404: not_found, 410: GONE}

    def documents(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
        def decorate(view: F) -> F:
            for status in statuses:
                if status in descriptions:
                    view = blp.alt_response(status, description=descriptions[status])(view)
            return view

        return decorate

    return documents


def privacy_blueprint(
    service: str,
    engine: Callable[[], Engine],
    held: Held,
    export_schema: type[ExportSchema],
    documents: Documents,
) -> Blueprint:
    """`GET /v1/clients/{id}/export` and `GET /v1/clients/{id}/access-log`, scope `admin`."""
    blp = Blueprint("privacy", __name__, url_prefix="/v1/clients", description="Privacy")

    def export_client(client_id: Any) -> dict[str, Any]:
        with read(engine()) as conn:
            holding = held(conn, principal().tenant, str(client_id))
        exported_at = datetime.now(UTC).isoformat()
        return {"service": service, "client_id": client_id, "exported_at": exported_at, **holding}

    export_client.__doc__ = SUMMARY.format(service=service)  # the operation's summary
    documented = documents(blp, 404, 410)(requires("admin")(export_client))
    answered = blp.response(200, export_schema)(documented)
    blp.route("/<uuid:client_id>/export", methods=["GET"])(answered)

    @blp.route("/<uuid:client_id>/access-log", methods=["GET"])
    @blp.arguments(AccessLogQuerySchema, location="query")
    @blp.response(200, AccessLogSchema)
    @documents(blp, 410, 422)
    @requires("admin")
    def access_log(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
        """List who read a client's data here, in order (append-only: it cannot be changed)"""
        after, tenant = int(query.get("cursor", 0)), principal().tenant
        with read(engine()) as conn:
            page = audit.access_log(conn, tenant, str(client_id), after, query["limit"])
        items, next_cursor = page
        return {"client_id": client_id, "items": items, "next_cursor": next_cursor}

    return blp
