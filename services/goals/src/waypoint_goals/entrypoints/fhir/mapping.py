"""Goals as FHIR R4 resources: Goal per goal, one CarePlan per client whose activities are steps.

Lifecycle and achievement statuses are already FHIR codes (goal-status, goal-achievement). A
target's measure is the instrument's coding in the shared instruments table, the very coding of
progress's Observation of that instrument; a met target is the goal's `outcomeReference` to the
Observation of the session's score.
"""

from __future__ import annotations

from typing import Any

from waypoint_goals.domain.goal import Goal, Step
from waypoint_shared.catalog.instruments import instrument as instrument_entry
from waypoint_shared.http import fhir

ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
PRIORITY = "http://terminology.hl7.org/CodeSystem/goal-priority"
MODALITY = "https://waypoint.example/fhir/CodeSystem/therapy-modality"
COMPARATORS = {"at_or_below": "<=", "at_or_above": ">="}
STEP_STATUS_BY_GOAL = {"on-hold": "on-hold", "cancelled": "cancelled", "rejected": "cancelled"}


def goal_resource(goal: Goal) -> dict[str, Any]:
    details = goal.details
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": goal.goal_id,
        "meta": {"versionId": str(goal.version)},
        "lifecycleStatus": goal.lifecycle_status,
        "category": [{"coding": [{"system": MODALITY, "code": details["modality"]}]}],
        "priority": {"coding": [{"system": PRIORITY, "code": f"{details['priority']}-priority"}]},
        "description": {"text": details["title"]},
        "subject": fhir.reference("Patient", goal.client_id),
        "expressedBy": _party(details["proposed_by"]),
        "addresses": [{"display": concern} for concern in details.get("addresses") or []],
        "note": [{"text": text} for text in _notes(details)],
        "target": _targets(details),
        "outcomeReference": _outcome(goal.target_met),
    }
    if goal.achievement_status:
        code = {"system": ACHIEVEMENT, "code": goal.achievement_status}
        resource["achievementStatus"] = {"coding": [code]}
    return {k: v for k, v in resource.items() if v != []}


def care_plan_resource(client_id: str, goals: list[Goal]) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "id": client_id,
        "status": _plan_status([goal.lifecycle_status for goal in goals]),
        "intent": "plan",
        "title": "Goals and action steps",
        "subject": fhir.reference("Patient", client_id),
        "goal": [fhir.reference("Goal", goal.goal_id) for goal in goals],
        "activity": [_activity(goal, step) for goal in goals for step in goal.steps.values()],
    }


def _party(party: dict[str, str]) -> dict[str, Any]:
    kind = "Patient" if party["role"] == "client" else "Practitioner"
    return {"type": kind, "identifier": {"value": party["id"]}}


def _notes(details: dict[str, Any]) -> list[str]:
    why, strengths = details.get("why_it_matters"), details.get("strengths") or []
    notes = [details.get("description"), why and f"Why it matters: {why}"]
    notes.append(strengths and "Strengths: " + ", ".join(strengths))
    return [note for note in notes if note]


def _targets(details: dict[str, Any]) -> list[dict[str, Any]]:
    target, due = details.get("target"), details.get("target_date")
    if not target and not due:
        return []
    out: dict[str, Any] = {"dueDate": due} if due else {}
    if target:
        coding = instrument_entry(target["instrument"]).coding.as_fhir()
        out["measure"] = {"coding": [coding], "text": target["instrument"]}
        comparator = COMPARATORS[target["direction"]]
        out["detailQuantity"] = {"value": target["score"], "comparator": comparator}
    return [out]


def _outcome(met: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Observation (as progress exports it) whose score met the target."""
    if met is None:
        return []
    instrument, score = met["instrument"], met["score"]
    return [
        {
            **fhir.reference(
                "Observation", f"{met['session_id']}-{instrument.lower()}", "progress"
            ),
            "display": f"{instrument} {score:g} on {met['met_on']} met the target",
        }
    ]


def _plan_status(statuses: list[str]) -> str:
    for live, plan in (("active", "active"), ("on-hold", "on-hold"), ("proposed", "draft")):
        if live in statuses:
            return plan
    return "completed" if "completed" in statuses else "revoked" if statuses else "draft"


def _activity(goal: Goal, step: Step) -> dict[str, Any]:
    status = "completed" if step.status == "completed" else "not-started"
    if status != "completed":
        status = STEP_STATUS_BY_GOAL.get(goal.lifecycle_status, status)
    detail: dict[str, Any] = {
        "kind": "Task",
        "status": status,
        "description": step.description,
        "goal": [fhir.reference("Goal", goal.goal_id)],
    }
    if step.due_date:
        detail["scheduledPeriod"] = {"end": step.due_date}
    return {"detail": detail}
