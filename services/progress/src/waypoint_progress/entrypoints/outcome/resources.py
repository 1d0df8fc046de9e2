"""A client's course outcome (NHS Talking Therapies) and end-of-treatment summary, computed on
read from the facts progress keeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.outcome.schemas import OutcomeSchema, SummarySchema
from waypoint_progress.entrypoints.timeline.reads import client_read
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal

blp = Blueprint(
    "outcome", __name__, url_prefix="/v1", description="Course outcome and end-of-treatment summary"
)
Query = Callable[[Connection, str, str, Thresholds], dict[str, Any]]


def _answer(query: Query, client_id: Any) -> dict[str, Any]:
    wired = container()
    with read(wired.engine) as conn:
        return query(conn, principal().tenant, str(client_id), wired.progress.thresholds)


@client_read(blp, "outcome", None, OutcomeSchema)
def get_outcome(client_id: Any) -> dict[str, Any]:
    """Read a client's course outcome: so far before discharge, final after"""
    return _answer(queries.outcome, client_id)


@client_read(blp, "summary", None, SummarySchema)
def get_summary(client_id: Any) -> dict[str, Any]:
    """Read a client's end-of-treatment summary: outcome, milestones, goals achieved, measures"""
    return _answer(queries.summary, client_id)
