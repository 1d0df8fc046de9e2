"""A client's privacy in goals: the subject-access export and the access log. (Erasure is asked
of intake; goals forgets the client when intake's `client_erased` arrives.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from waypoint_goals.entrypoints.common import container, goal_view
from waypoint_goals.entrypoints.privacy.schemas import ExportSchema
from waypoint_goals.entrypoints.staying_well.resources import plan_view
from waypoint_goals.service_layer import queries
from waypoint_shared.http.privacy import described, privacy_blueprint


def _engine() -> Engine:
    engine: Engine = container().engine
    return engine


def held(conn: Connection, tenant_id: str, client_id: str) -> dict[str, Any]:
    """What goals holds about the client: eligibility, goals, the staying-well plan, their
    events, the reads."""
    holding = queries.subject_access(container().goals, conn, tenant_id, client_id)
    plan = holding["staying_well_plan"]
    return {
        **holding,
        "goals": [goal_view(goal) for goal in holding["goals"]],
        "staying_well_plan": plan and plan_view(plan),
    }


blp = privacy_blueprint(
    "goals", _engine, held, ExportSchema, described("goals has heard of no such client")
)
