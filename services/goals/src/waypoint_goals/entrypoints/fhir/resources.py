"""Goals' FHIR R4 base: Goal by id, and the CarePlan of a patient (client) as a search."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from waypoint_goals.domain.errors import ClientNotFound
from waypoint_goals.entrypoints.common import container
from waypoint_goals.entrypoints.fhir.mapping import care_plan_resource, goal_resource
from waypoint_goals.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.openapi import fhir_answer
from waypoint_shared.http.problems import FHIR_JSON
from waypoint_shared.http.web import public_url

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4: Goal and CarePlan")


class CarePlanSearchSchema(Schema):
    class Meta:
        unknown = RAISE

    patient = fields.String(
        required=True,
        validate=validate.Regexp(r"^(Patient/)?[0-9a-fA-F-]{36}$"),
        metadata={"description": "the client id, or Patient/<client id>"},
    )


def fhir_json(resource: dict[str, Any]) -> Response:
    return Response(json.dumps(resource), status=200, mimetype=FHIR_JSON)


def _client_goals(client_id: str) -> list[Any]:
    wired = container()
    with read(wired.engine) as conn:
        return queries.goals_of(wired.goals, conn, principal().tenant, client_id)


@blp.route("/Goal/<uuid:goal_id>", methods=["GET"])
@blp.doc(responses=fhir_answer("Goal", "The goal as a FHIR R4 Goal"))
@requires("goals:read")
def read_goal(goal_id: Any) -> Response:
    """Read a goal as a FHIR R4 Goal"""
    wired = container()
    with read(wired.engine) as conn:
        goal = queries.load_goal(wired.goals, conn, principal().tenant, str(goal_id))
    audit.reads(goal.client_id)
    return fhir_json(goal_resource(goal))


@blp.route("/CarePlan", methods=["GET"])
@blp.doc(responses=fhir_answer("Bundle", "A searchset Bundle of the patient's CarePlan"))
@blp.arguments(CarePlanSearchSchema, location="query")
@requires("goals:read")
def search_care_plans(query: dict[str, Any]) -> Response:
    """Search the CarePlan of a patient: a searchset Bundle with the plan and its goals"""
    client_id = query["patient"].removeprefix("Patient/").lower()
    goals = _client_goals(client_id)
    base = public_url("/fhir")
    entries = [] if not goals else [_entry(base, care_plan_resource(client_id, goals), "match")]
    entries += [_entry(base, goal_resource(goal), "include") for goal in goals]
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": min(len(goals), 1)}
    return fhir_json({**bundle, "entry": entries} if entries else bundle)


@blp.route("/CarePlan/<uuid:client_id>", methods=["GET"])
@blp.doc(responses=fhir_answer("CarePlan", "The client's plan as a FHIR R4 CarePlan"))
@requires("goals:read")
def read_care_plan(client_id: Any) -> Response:
    """Read a client's CarePlan (its id is the client id)"""
    goals = _client_goals(str(client_id))
    if not goals:
        raise ClientNotFound(str(client_id))
    return fhir_json(care_plan_resource(str(client_id), goals))


def _entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    url = f"{base}/{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": url, "resource": resource, "search": {"mode": mode}}
