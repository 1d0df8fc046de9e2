"""Goals' FHIR R4 base: Goal by id and by patient, the CarePlan of a patient (client) by id and
as a search; the CapabilityStatement at /fhir/metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_goals.domain.errors import ClientNotFound
from waypoint_goals.domain.goal import Goal
from waypoint_goals.entrypoints.common import container
from waypoint_goals.entrypoints.fhir.mapping import care_plan_resource, goal_resource
from waypoint_goals.entrypoints.fhir.schemas import CarePlanSearchSchema, GoalSearchSchema
from waypoint_goals.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit, fhir, fhir_definitions
from waypoint_shared.http.auth import principal

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4: Goal and CarePlan")
capabilities = fhir.Capabilities("Waypoint goals", ("goals:read",))
capabilities.serve_metadata(blp)
capabilities.include(fhir_definitions.capabilities)  # the CodeSystems every base serves
Timed = list[tuple[Goal, datetime]]


def _client_goals(client_id: str) -> Timed:
    wired = container()
    with read(wired.engine) as conn:
        return queries.goals_with_times(wired.goals, conn, principal().tenant, client_id)


def _goal(goal: Goal, when: datetime) -> dict[str, Any]:
    return fhir.recorded(goal_resource(goal), when)


def _care_plan(client_id: str, goals: Timed) -> dict[str, Any]:
    """The client's plan, last changed when its newest-changed goal did."""
    plan = care_plan_resource(client_id, [goal for goal, _ in goals])
    return fhir.recorded(plan, max(when for _, when in goals))


@capabilities.read(blp, "Goal", "<uuid:goal_id>")
def read_goal(goal_id: Any) -> Response:
    """Read a goal as a FHIR R4 Goal"""
    wired = container()
    with read(wired.engine) as conn:
        goal, when = queries.goal_with_time(wired.goals, conn, principal().tenant, str(goal_id))
    audit.reads(goal.client_id)
    return fhir.answer(_goal(goal, when))


@capabilities.read(blp, "CarePlan", "<uuid:client_id>")
def read_care_plan(client_id: Any) -> Response:
    """Read a client's CarePlan (its id is the client id)"""
    goals = _client_goals(str(client_id))
    if not goals:
        raise ClientNotFound(str(client_id))
    return fhir.answer(_care_plan(str(client_id), goals))


@capabilities.search(blp, "Goal", GoalSearchSchema)
def search_goals(query: dict[str, Any]) -> Response:
    """Search a patient's goals"""
    client_id = fhir.searched_patient(query)
    goals = _client_goals(client_id) if client_id else []
    return fhir.answer(fhir.searchset([_goal(goal, when) for goal, when in goals], query))


@capabilities.search(blp, "CarePlan", CarePlanSearchSchema)
def search_care_plans(query: dict[str, Any]) -> Response:
    """Search the CarePlan of a patient: a searchset Bundle with the plan and its goals"""
    client_id = fhir.searched_patient(query)
    goals = _client_goals(client_id) if client_id else []
    plans = [_care_plan(client_id, goals)] if goals else []

    def its_goals(_plan: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [_goal(goal, when) for goal, when in goals]

    return fhir.answer(fhir.searchset(plans, query, its_goals))
