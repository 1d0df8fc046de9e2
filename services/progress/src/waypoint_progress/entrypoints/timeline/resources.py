"""The timeline resource: a client's journey, milestones and alerts, as JSON and as a picture."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_progress.adapters import projection
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.timeline import picture
from waypoint_progress.entrypoints.timeline.reads import client_read
from waypoint_progress.entrypoints.timeline.schemas import (
    PageQuerySchema,
    TimelinePageSchema,
    TimelineQuerySchema,
)
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal

blp = Blueprint("timeline", __name__, url_prefix="/v1", description="The milestone timeline")
SVG = "image/svg+xml"


def _page(client_id: Any, **query: Any) -> dict[str, Any]:
    wired = container()
    with read(wired.engine) as conn:
        items, next_cursor = queries.timeline(
            conn, queries.TimelineQuery(principal().tenant, str(client_id), **query)
        )
    return {"items": items, "next_cursor": next_cursor}


@client_read(blp, "timeline", TimelineQuerySchema, TimelinePageSchema)
def get_timeline(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read a client's timeline"""
    return _page(client_id, **query)


@client_read(blp, "milestones", PageQuerySchema, TimelinePageSchema)
def get_milestones(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read a client's milestones"""
    return _page(client_id, kind="milestone", **query)


@client_read(
    blp,
    "timeline.svg",
    None,
    None,
    content_type=SVG,
    description="Measure trajectories with milestones, alerts",
)
@blp.doc(
    responses={
        "200": {
            "description": "Measure trajectories with milestones, alerts",
            "content": {SVG: {"schema": {"type": "string"}}},
        }
    }
)
def get_timeline_picture(client_id: Any) -> Response:
    """Draw a client's timeline as SVG"""
    wired = container()
    tenant, thresholds = principal().tenant, wired.progress.thresholds
    with read(wired.engine) as conn:
        entries = queries.whole_timeline(conn, tenant, str(client_id))
        trajectories = queries.trajectories(conn, tenant, str(client_id), thresholds)
        age_group = projection.standing_of(conn, tenant, str(client_id)).age_group
    drawn = picture.render(str(client_id), trajectories, entries, thresholds, age_group)
    return Response(drawn, mimetype=SVG)
