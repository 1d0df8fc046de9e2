"""A client's staying-well plan: agreed by client and therapist before therapy ends, revised by
a later agreement, read back as last agreed."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_goals.domain.staying_well import PLAN_FIELDS, StayingWellPlan
from waypoint_goals.entrypoints.common import container
from waypoint_goals.entrypoints.goals.resources import REFUSED
from waypoint_goals.entrypoints.staying_well.schemas import (
    StayingWellPlanSchema,
    StayingWellPlanViewSchema,
)
from waypoint_goals.service_layer import handlers, queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import Reply, execute, expected_version_from_if_match, written
from waypoint_shared.runtime import request_metadata

blp = Blueprint(
    "staying_well",
    __name__,
    url_prefix="/v1/clients",
    description="A client's staying-well plan for after therapy",
)
PATH = "/<uuid:client_id>/staying-well-plan"


def plan_view(plan: StayingWellPlan) -> dict[str, Any]:
    body = {name: getattr(plan, name) for name in PLAN_FIELDS}
    view = {**body, "client_id": plan.client_id, "version": plan.version}
    dumped: dict[str, Any] = StayingWellPlanViewSchema().dump(view)
    return dumped


@blp.route(PATH, methods=["PUT"])
@blp.arguments(StayingWellPlanSchema)
@blp.response(200, StayingWellPlanViewSchema, description="the plan revised")
@blp.alt_response(201, schema=StayingWellPlanViewSchema, description="the plan first agreed")
@blp.alt_response(409, description=REFUSED)
@blp.alt_response(412, description="If-Match names a version the plan has moved past")
@requires("goals:write")
def agree_staying_well_plan(agreed: dict[str, Any], client_id: Any) -> Response:
    """Agree a client's staying-well plan, or revise it (client and therapist together)"""
    wired, tenant, expected = container(), principal().tenant, expected_version_from_if_match()
    metadata = request_metadata()  # no one person: the event names both parties that agreed

    def work(conn: Connection) -> Reply:
        plan = handlers.agree_staying_well_plan(
            wired.goals, conn, tenant, str(client_id), agreed, expected, metadata
        )
        status = 201 if plan.version == 1 else 200
        return written(status, plan_view(plan), plan.version, subject=plan.client_id)

    return execute(wired.engine, work)


@blp.route(PATH, methods=["GET"])
@blp.response(200, StayingWellPlanViewSchema)
@blp.alt_response(404, description="no staying-well plan agreed for this client")
@requires("goals:read")
def get_staying_well_plan(client_id: Any) -> Response:
    """Read a client's staying-well plan as last agreed"""
    wired = container()
    with read(wired.engine) as conn:
        plan = queries.load_staying_well_plan(wired.goals, conn, principal().tenant, str(client_id))
    audit.reads(plan.ensure_agreed().client_id)
    return Reply(200, plan_view(plan), {"ETag": f'"{plan.version}"'}).to_response()
