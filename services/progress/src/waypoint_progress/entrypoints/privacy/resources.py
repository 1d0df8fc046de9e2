"""A client's privacy in progress: the subject-access export and the access log. (Erasure is
asked of intake; progress forgets the client when intake's `client_erased` arrives.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_smorest import Blueprint

from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.privacy.schemas import (
    AccessLogQuerySchema,
    AccessLogSchema,
    ExportSchema,
)
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires

blp = Blueprint("privacy", __name__, url_prefix="/v1/clients", description="Privacy")
GONE = "the client was erased"


@blp.route("/<uuid:client_id>/export", methods=["GET"])
@blp.response(200, ExportSchema)
@blp.alt_response(404, description="Progress has seen no event of this client")
@blp.alt_response(410, description=GONE)
@requires("admin")
def export_client(client_id: Any) -> dict[str, Any]:
    """Export everything progress holds about a client, decrypted (subject access)"""
    wired = container()
    with read(wired.engine) as conn:
        held = queries.subject_access(
            conn, wired.progress.repository, principal().tenant, str(client_id)
        )
    exported_at = datetime.now(UTC).isoformat()
    return {"service": "progress", "client_id": client_id, "exported_at": exported_at, **held}


@blp.route("/<uuid:client_id>/access-log", methods=["GET"])
@blp.arguments(AccessLogQuerySchema, location="query")
@blp.response(200, AccessLogSchema)
@blp.alt_response(410, description=GONE)
@requires("admin")
def access_log(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """List who read a client's data here, in order (append-only: it cannot be changed)"""
    wired, after = container(), int(query.get("cursor", 0))
    with read(wired.engine) as conn:
        items, next_cursor = audit.access_log(
            conn, principal().tenant, str(client_id), after, query["limit"]
        )
    return {"client_id": client_id, "items": items, "next_cursor": next_cursor}
