"""The sessions resource: check-ins with their measures, scored by the service."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_progress.domain.scoring import INSTRUMENTS
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.sessions.schemas import (
    AsOfSchema,
    SessionInputSchema,
    SessionSchema,
)
from waypoint_progress.service_layer import handlers
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.runtime import request_metadata

blp = Blueprint("sessions", __name__, url_prefix="/v1", description="Session check-ins")


@blp.route("/clients/<uuid:client_id>/sessions", methods=["POST"])
@blp.arguments(SessionInputSchema)
@blp.response(201, SessionSchema)
@blp.alt_response(
    422,
    description="Items do not fit the instrument, measures of a session not attended, a date"
    " more than one day after today (UTC) or before the client's referral, or another invalid"
    " field",
)
@requires("progress:write")
def record_session(session: dict[str, Any], client_id: Any) -> Response:
    """Record a session check-in and its measures"""
    wired = container()
    details = {**session, "date": session["date"].isoformat()}
    tenant, metadata = principal().tenant, request_metadata()
    expected = expected_version_from_if_match()

    def work(conn: Connection) -> Reply:
        outcome = handlers.record_session(
            wired.progress, conn, tenant, str(client_id), details, metadata, expected
        )
        recorded = outcome.recorded
        body = {
            **details,
            "client_id": str(client_id),
            "session_id": recorded.data["session_id"],
            "measures": [_measure(vars(s)) for s in outcome.scores],
            "alerts": [_alert(a) for a in outcome.alerts],
        }
        location = f"/v1/clients/{client_id}/sessions/{body['session_id']}"
        version = recorded.stream_version
        body = SessionSchema().dump({**body, "version": version})
        return written(201, body, version, location, subject=str(client_id))

    return execute(wired.engine, work)


@blp.route("/clients/<uuid:client_id>/sessions/<uuid:session_id>", methods=["GET"])
@blp.arguments(AsOfSchema, location="query")
@blp.response(200, SessionSchema)
@requires("progress:read")
def get_session(query: dict[str, Any], client_id: Any, session_id: Any) -> Response:
    """Read a session check-in (optionally as it was at `as_of`)"""
    wired = container()
    with read(wired.engine) as conn:
        client = handlers.load_progress(
            wired.progress, conn, principal().tenant, str(client_id), query.get("as_of")
        )
    session = client.session(str(session_id))
    body = {**vars(session), "measures": [_measure(m) for m in session.measures]}
    body = SessionSchema().dump({**body, "version": client.version})
    return Reply(200, body, {"ETag": f'"{client.version}"'}).to_response()


def _measure(measure: dict[str, Any]) -> dict[str, Any]:
    """Whole-number instruments read as whole numbers (the catalog stores every item as a float)."""
    whole = INSTRUMENTS[measure["instrument"]].integer
    number = int if whole else float
    return {
        "instrument": measure["instrument"],
        "items": [number(i) for i in measure["items"]],
        "total": number(measure["total"]),
        "band": measure["band"],
    }


def _alert(alert: Any) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule": alert.type,
        "title": alert.title,
        "raised_at": alert.occurred_at.isoformat(),
    }
