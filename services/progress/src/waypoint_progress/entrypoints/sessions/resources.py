"""The sessions resource: check-ins with their measures, scored by the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_progress.domain.progress import RECORDED, ClientProgress
from waypoint_progress.domain.scoring import INSTRUMENTS
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.sessions.schemas import (
    AmendmentSchema,
    AsOfSchema,
    EnteredInErrorSchema,
    HistoryPageSchema,
    SessionInputSchema,
    SessionSchema,
)
from waypoint_progress.entrypoints.timeline.reads import client_read
from waypoint_progress.entrypoints.timeline.schemas import HistoryQuerySchema
from waypoint_progress.service_layer import handlers, queries
from waypoint_shared.db.database import read
from waypoint_shared.eventstore.repository import RecordedEvent, event_name
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.runtime import request_metadata

blp = Blueprint("sessions", __name__, url_prefix="/v1", description="Session check-ins")


@blp.route("/clients/<uuid:client_id>/sessions", methods=["POST"])
@blp.arguments(SessionInputSchema)
@blp.response(201, SessionSchema)
@blp.alt_response(
    409,
    description="A date before the client's referral (errors.date); the client not known yet"
    " (with Retry-After), discharged or without treatment consent",
)
@blp.alt_response(
    422,
    description="Items do not fit the instrument, measures of a session not attended, a date"
    " more than one day after today (UTC), or another invalid field",
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
            "status": RECORDED,
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
    body = SessionSchema().dump(_session_body(client, str(session_id)))
    return Reply(200, body, {"ETag": f'"{client.version}"'}).to_response()


CORRECTION_ERRORS = (
    (404, "No such session of this client"),
    (409, "The session was marked entered in error before; or the client is not known yet"),
)


@blp.route("/clients/<uuid:client_id>/sessions/<uuid:session_id>/amendments", methods=["POST"])
@blp.arguments(AmendmentSchema)
@blp.response(200, SessionSchema)
@blp.alt_response(404, description=CORRECTION_ERRORS[0][1])
@blp.alt_response(
    409,
    description=CORRECTION_ERRORS[1][1] + "; or measures for a session recorded as not attended",
)
@blp.alt_response(422, description="Items do not fit the instrument, no reason")
@requires("progress:write")
def amend_session(amendment: dict[str, Any], client_id: Any, session_id: Any) -> Response:
    """Amend a recorded session's measures, saying why (the history keeps both)"""
    return _correct(client_id, session_id, handlers.amend_session, amendment)


@blp.route(
    "/clients/<uuid:client_id>/sessions/<uuid:session_id>/entered-in-error", methods=["POST"]
)
@blp.arguments(EnteredInErrorSchema)
@blp.response(200, SessionSchema)
@blp.alt_response(404, description=CORRECTION_ERRORS[0][1])
@blp.alt_response(409, description=CORRECTION_ERRORS[1][1])
@blp.alt_response(422, description="No reason")
@requires("progress:write")
def mark_entered_in_error(marking: dict[str, Any], client_id: Any, session_id: Any) -> Response:
    """Mark a recorded session entered in error, saying why: it counts for nothing derived"""
    return _correct(client_id, session_id, handlers.mark_entered_in_error, marking["reason"])


def _correct(
    client_id: Any, session_id: Any, command: Callable[..., handlers.Correction], given: Any
) -> Response:
    """Run a correction of one session in one transaction; answer the session as it is now."""
    wired = container()
    target = handlers.SessionOf(principal().tenant, str(client_id), str(session_id))
    metadata, expected = request_metadata(), expected_version_from_if_match()

    def work(conn: Connection) -> Reply:
        corrected = command(wired.progress, conn, target, given, metadata, expected)
        body = _session_body(corrected.client, target.session_id)
        body["alerts"] = [_alert(a) for a in corrected.alerts]
        version = corrected.recorded.stream_version
        return written(200, SessionSchema().dump(body), version, subject=target.client_id)

    return execute(wired.engine, work)


def _session_body(client: ClientProgress, session_id: str) -> dict[str, Any]:
    """A session as it stands now (its last amendment's measures), with its status."""
    session = client.session(session_id)
    return {
        **vars(session),
        "measures": [_measure(m) for m in session.measures],
        "status": client.status(session_id),
        "version": client.version,
    }


@client_read(blp, "history", HistoryQuerySchema, HistoryPageSchema)
def client_history(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read what progress recorded of a client: sessions, their amendments and entries in error
    with the reasons, acknowledgements"""
    wired = container()
    with read(wired.engine) as conn:
        page, next_cursor = queries.client_history(
            conn,
            wired.progress.repository,
            principal().tenant,
            str(client_id),
            query.get("cursor"),
            query["limit"],
        )
    return {"items": [_history_entry(e, r) for e, r in page], "next_cursor": next_cursor}


HISTORY_FIELDS = ("session_id", "date", "attended", "reason", "alert_id")


def _history_entry(event: object, recorded: RecordedEvent) -> dict[str, Any]:
    entry = {
        "event_id": recorded.event_id,
        "type": event_name(type(event)),
        "recorded_at": recorded.occurred_at.isoformat(),
        "version": recorded.stream_version,
        "actor": recorded.metadata.get("actor") or {"system": "unknown", "person": None},
    }
    entry.update({n: getattr(event, n) for n in HISTORY_FIELDS if hasattr(event, n)})
    if hasattr(event, "measures"):
        entry["measures"] = [_measure(m) for m in event.measures]
    return entry


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
