"""The measures resource: one instrument's trajectory against the client's baseline."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask_smorest import Blueprint

from waypoint_progress.domain.scoring import INSTRUMENTS
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.measures.schemas import MeasuresQuerySchema, TrajectorySchema
from waypoint_progress.entrypoints.timeline.reads import client_read
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal

blp = Blueprint("measures", __name__, url_prefix="/v1", description="Outcome and alliance measures")


@client_read(blp, "measures", MeasuresQuerySchema, TrajectorySchema)
def get_measures(query: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Read one instrument's trajectory, in pages of points (oldest first)"""
    wired = container()
    instrument = query["instrument"]
    with read(wired.engine) as conn:
        points = queries.measures(
            conn, principal().tenant, str(client_id), instrument, wired.progress.thresholds
        )
    number = int if INSTRUMENTS[instrument].integer else float
    start, limit = int(query.get("cursor", 0)), query["limit"]
    return {
        "client_id": client_id,
        "instrument": instrument,
        "baseline": _number(points[-1].baseline, number) if points else None,
        "points": [_point(p, number) for p in points[start : start + limit]],
        "next_cursor": str(start + limit) if start + limit < len(points) else None,
    }


def _point(point: Any, number: type) -> dict[str, Any]:
    out = dataclasses.asdict(point)
    for name in ("score", "baseline", "change_from_baseline"):
        out[name] = _number(out[name], number)
    return {**out, "recorded_at": point.recorded_at.isoformat()}


def _number(value: float | None, number: type) -> Any:
    return None if value is None else number(value)
