"""Goals as FHIR R4: Goal and CarePlan validate with fhir.resources.R4B, codes asserted."""

from __future__ import annotations

from typing import Any, cast

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.goal import Goal

from .conftest import GoalsApi

CLIENT = {"role": "client", "id": "amara"}
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_STATUS = {
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
}


def fhir_goal(api: GoalsApi, location: str) -> dict[str, Any]:
    response = api.get(location.replace("/v1/goals/", "/fhir/Goal/"))
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    return cast(dict[str, Any], response.get_json())


def test_a_proposed_goal_exports_as_a_valid_goal_without_achievement(
    api: GoalsApi, goal: str
) -> None:
    body = fhir_goal(api, goal)

    Goal.model_validate(body)
    assert body["lifecycleStatus"] == "proposed"
    assert "achievementStatus" not in body
    assert body["description"]["text"] == "Sleep through the night"
    assert body["priority"]["coding"][0]["code"] == "high-priority"
    [target] = body["target"]
    assert target["measure"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "44261-6",
        "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    }
    assert target["detailQuantity"] == {"value": 9.0, "comparator": "<="}
    assert target["dueDate"] == "2025-12-01"


def test_check_ins_and_achievement_export_goal_achievement_codes(
    api: GoalsApi, active_goal: str
) -> None:
    api.post(f"{active_goal}/check-ins", {"rating": 4, "by": CLIENT})
    api.post(f"{active_goal}/check-ins", {"rating": 7, "by": CLIENT})
    improving = fhir_goal(api, active_goal)
    api.post(f"{active_goal}/achievement", {})
    achieved = fhir_goal(api, active_goal)

    for body, lifecycle, code in (
        (improving, "active", "improving"),
        (achieved, "completed", "achieved"),
    ):
        Goal.model_validate(body)
        assert body["lifecycleStatus"] == lifecycle
        assert body["lifecycleStatus"] in GOAL_STATUS
        assert body["achievementStatus"]["coding"] == [{"system": ACHIEVEMENT, "code": code}]


def test_every_lifecycle_status_is_a_goal_status_code(api: GoalsApi, client_id: str) -> None:
    locations = [api.propose(client_id).headers["Location"] for _ in range(3)]
    api.post(f"{locations[0]}/rejection", {"rejected_by": CLIENT, "reason": "no"})
    api.post(f"{locations[1]}/agreement", {"agreed_by": CLIENT})
    api.post(f"{locations[1]}/hold", {"reason": "pause"})
    api.post(f"{locations[2]}/cancellation", {"reason": "moved"})

    statuses = [fhir_goal(api, location)["lifecycleStatus"] for location in locations]

    assert statuses == ["rejected", "on-hold", "cancelled"]


def test_the_care_plan_search_returns_a_bundle_with_the_plan_and_its_goals(
    api: GoalsApi, client_id: str
) -> None:
    goal = api.propose(client_id).headers["Location"]
    api.post(f"{goal}/agreement", {"agreed_by": CLIENT})
    first = api.post(f"{goal}/steps", {"description": "Wind down", "due_date": "2025-10-01"})
    api.post(f"{goal}/steps", {"description": "No screens after nine"})
    api.post(f"{first.headers['Location']}/completion", {})

    response = api.get("/fhir/CarePlan", patient=client_id)

    assert response.mimetype == "application/fhir+json"
    bundle = response.get_json()
    Bundle.model_validate(bundle)
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    plan_entry, goal_entry = bundle["entry"]
    assert plan_entry["fullUrl"] == f"http://127.0.0.1:8002/fhir/CarePlan/{client_id}"
    assert goal_entry["fullUrl"].startswith("http://127.0.0.1:8002/fhir/Goal/")
    plan = plan_entry["resource"]
    CarePlan.model_validate(plan)
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    assert plan["subject"] == {"reference": f"http://127.0.0.1:8001/fhir/Patient/{client_id}"}
    activities = [a["detail"] for a in plan["activity"]]
    assert [(a["description"], a["status"]) for a in activities] == [
        ("Wind down", "completed"),
        ("No screens after nine", "not-started"),
    ]
    assert activities[0]["scheduledPeriod"] == {"end": "2025-10-01"}
    Goal.model_validate(goal_entry["resource"])


def test_a_patient_without_goals_is_an_empty_searchset(api: GoalsApi, client_id: str) -> None:
    bundle = api.get("/fhir/CarePlan", patient=f"Patient/{client_id}").get_json()

    Bundle.model_validate(bundle)
    assert bundle["total"] == 0
    assert "entry" not in bundle


def test_fhir_errors_are_operation_outcomes(api: GoalsApi) -> None:
    missing = api.get("/fhir/Goal/00000000-0000-4000-8000-000000000000")
    no_patient = api.get("/fhir/CarePlan")

    for response, status in ((missing, 404), (no_patient, 400)):
        assert response.status_code == status
        assert response.mimetype == "application/fhir+json"
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_fhir_reads_need_the_goals_read_scope(api: GoalsApi, goal: str) -> None:
    api.scopes = "goals:write"

    assert api.get(goal.replace("/v1/goals/", "/fhir/Goal/")).status_code == 403


def test_a_patients_goals_are_a_searchset_and_each_full_url_reads_back(
    api: GoalsApi, client_id: str
) -> None:
    for _ in range(3):
        api.propose(client_id)

    first = api.get("/fhir/Goal", patient=client_id, _count=2).get_json()
    links = {link["relation"]: link["url"] for link in first["link"]}

    Bundle.model_validate(first)
    assert (first["total"], len(first["entry"])) == (3, 2)
    assert links["next"].startswith("http://127.0.0.1:8002/fhir/Goal?")
    for entry in first["entry"]:
        read = api.get(entry["fullUrl"].removeprefix("http://127.0.0.1:8002"))
        assert read.status_code == 200
        assert read.get_json() == entry["resource"]
        assert read.get_json()["meta"]["lastUpdated"]


def test_a_care_plans_goal_references_read_back(api: GoalsApi, client_id: str) -> None:
    api.propose(client_id)

    [plan, goal] = api.get("/fhir/CarePlan", patient=client_id).get_json()["entry"]

    assert plan["resource"]["goal"] == [{"reference": goal["fullUrl"]}]
    assert api.get(plan["fullUrl"].removeprefix("http://127.0.0.1:8002")).status_code == 200
    assert api.get(goal["fullUrl"].removeprefix("http://127.0.0.1:8002")).status_code == 200
