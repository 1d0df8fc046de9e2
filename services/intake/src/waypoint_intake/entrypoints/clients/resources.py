"""The clients resource: refer, list, read, correct, and the record's history."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_intake.entrypoints.clients.commands import change_client, client_route, read_route
from waypoint_intake.entrypoints.clients.schemas import (
    AsOfSchema,
    ClientListQuerySchema,
    ClientPageSchema,
    ClientSchema,
    HistoryPageSchema,
    PageQuerySchema,
    ReferralSchema,
    correction,
)
from waypoint_intake.entrypoints.common import (
    client_body,
    container,
    documents_problems,
    states_body,
)
from waypoint_intake.service_layer import handlers, queries
from waypoint_shared.db.database import read
from waypoint_shared.eventstore.repository import event_name
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import (
    Reply,
    execute,
    expected_version_from_if_match,
    written,
)
from waypoint_shared.runtime import request_metadata

blp = Blueprint("clients", __name__, url_prefix="/v1/clients", description="Client records")


@blp.route("", methods=["POST"])
@blp.arguments(ReferralSchema())
@blp.response(201, ClientSchema)
@documents_problems(blp, 409, 422)
@requires("intake:write")
def refer_client(referral: dict[str, Any]) -> Response:
    """Refer a client"""
    app = container()
    expected_version_from_if_match()  # nothing to match yet, but a malformed one is a 400
    acting = referral.pop("recorded_by", None)
    details = {**referral, "date_of_birth": referral["date_of_birth"].isoformat()}
    tenant, metadata = principal().tenant, request_metadata(acting=acting)

    referred, client = handlers.new_client(details)
    location = f"/v1/clients/{client.client_id}"
    reply = written(201, client_body(client), client.version, location, subject=client.client_id)

    def work(conn: Connection) -> Reply:  # as little as possible under the write lock
        handlers.refer_client(app.intake, conn, tenant, referred, metadata)
        return reply

    return execute(app.engine, work)


@read_route(blp, "", ClientPageSchema, (422,), ClientListQuerySchema())
def list_clients(query: dict[str, Any]) -> dict[str, Any]:
    """List clients (filter by `external_id`)"""
    app, tenant = container(), principal().tenant
    with read(app.engine) as conn:
        if "external_id" in query:
            found = queries.find_by_external_id(app.intake, conn, tenant, query["external_id"])
            clients, next_cursor = ([found] if found else []), None
        else:
            clients, next_cursor = queries.clients_page(
                app.intake, conn, tenant, query.get("cursor"), query["limit"]
            )
    for client in clients:
        audit.reads(client.client_id)
    return {"items": [client_body(c) for c in clients], "next_cursor": next_cursor}


@read_route(blp, "/<uuid:client_id>", ClientSchema, (404, 422), AsOfSchema())
def get_client(query: dict[str, Any], client_id: Any) -> Response:
    """Read a client (optionally as it was at `as_of`)"""
    app = container()
    with read(app.engine) as conn:
        client = handlers.load_client(
            app.intake, conn, principal().tenant, str(client_id), query.get("as_of")
        )
        body = client_body(client)
    return Reply(200, body, {"ETag": f'"{client.version}"'}).to_response()


@client_route(blp, "/<uuid:client_id>", correction(), method="PATCH")
@states_body(blp, correction(), minProperties=2)  # recorded_by and a detail to correct
def correct_client(corrections: dict[str, Any], client_id: Any) -> Response:
    """Correct a client's details (the history keeps the values before)"""
    acting = corrections.pop("recorded_by")
    if corrections.get("date_of_birth"):
        corrections["date_of_birth"] = corrections["date_of_birth"].isoformat()
    return change_client(client_id, acting, handlers.correct_details, corrections)


@read_route(blp, "/<uuid:client_id>/history", HistoryPageSchema, (404, 422), PageQuerySchema())
def client_history(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read the events of a client's record: type, time, actor, version"""
    app = container()
    with read(app.engine) as conn:
        page, next_cursor = queries.client_history(
            app.intake,
            conn,
            principal().tenant,
            str(client_id),
            query.get("cursor"),
            query["limit"],
        )
    return {"items": [_history_entry(e, r) for e, r in page], "next_cursor": next_cursor}


def _history_entry(event: object, recorded: Any) -> dict[str, Any]:
    entry = {
        "event_id": recorded.event_id,
        "type": event_name(type(event)),
        "occurred_at": recorded.occurred_at.isoformat(),
        "version": recorded.stream_version,
        "actor": recorded.metadata.get("actor") or {"system": "unknown", "person": None},
    }
    if hasattr(event, "changes"):
        entry["changes"] = event.changes
    return entry
