"""The timeline resource: a client's journey, milestones and alerts."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from waypoint_progress import views
from waypoint_progress.entrypoints.timeline.schemas import TimelinePageSchema, TimelineQuerySchema
from waypoint_shared.auth import principal, requires
from waypoint_shared.database import read

blp = Blueprint("timeline", __name__, url_prefix="/v1", description="The milestone timeline")


@blp.route("/clients/<uuid:client_id>/timeline", methods=["GET"])
@blp.arguments(TimelineQuerySchema, location="query")
@blp.response(200, TimelinePageSchema)
@requires("progress:read")
def get_timeline(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read a client's timeline"""
    container = current_app.extensions["waypoint"]
    with read(container.engine) as conn:
        items, next_cursor = views.timeline(
            conn, views.TimelineQuery(principal().tenant, str(client_id), **query)
        )
    return {"items": items, "next_cursor": next_cursor}
