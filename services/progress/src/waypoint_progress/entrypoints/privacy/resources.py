"""A client's privacy in progress: the subject-access export and the access log. (Erasure is
asked of intake; progress forgets the client when intake's `client_erased` arrives.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.privacy.schemas import ExportSchema
from waypoint_progress.service_layer import queries
from waypoint_shared.http.privacy import described, privacy_blueprint


def _engine() -> Engine:
    return container().engine


def held(conn: Connection, tenant_id: str, client_id: str) -> dict[str, Any]:
    """What progress holds about the client: the timeline, the events, the reads."""
    return queries.subject_access(conn, container().progress.repository, tenant_id, client_id)


blp = privacy_blueprint(
    "progress", _engine, held, ExportSchema, described("Progress has seen no event of this client")
)
