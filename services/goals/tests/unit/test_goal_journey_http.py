"""A goal's life over HTTP: agreement, steps, revisions with reasons, check-ins, achievement,
the 409s that name what is allowed instead, history, the plan and `as_of`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask

from .conftest import GoalsApi

CLIENT = {"role": "client", "id": "amara"}
THERAPIST = {"role": "therapist", "id": "t-7"}


def test_a_therapist_proposal_agreed_by_the_client_becomes_active(api: GoalsApi, goal: str) -> None:
    agreed = api.post(f"{goal}/agreement", {"agreed_by": CLIENT})

    assert agreed.status_code == 200
    assert agreed.headers["ETag"] == '"2"'
    body = agreed.get_json()
    assert (body["lifecycle_status"], body["version"]) == ("active", 2)
    assert body["agreed_by"] == CLIENT
    assert "achieve" in body["allowed_actions"]


def test_the_proposer_agreeing_is_a_409_naming_the_status_and_the_allowed_actions(
    api: GoalsApi, goal: str
) -> None:
    refused = api.post(f"{goal}/agreement", {"agreed_by": {"role": "therapist", "id": "t-8"}})

    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["current_status"] == "proposed"
    assert problem["allowed_actions"] == ["agree", "reject", "revise", "cancel"]
    assert "only the client can agree" in problem["detail"]


def test_agreeing_twice_and_achieving_a_proposed_goal_are_409s(api: GoalsApi, goal: str) -> None:
    early = api.post(f"{goal}/achievement", {"note": "already there"})
    api.post(f"{goal}/agreement", {"agreed_by": CLIENT})
    twice = api.post(f"{goal}/agreement", {"agreed_by": CLIENT})

    assert early.status_code == 409
    assert early.get_json()["current_status"] == "proposed"
    assert twice.status_code == 409
    assert twice.get_json()["current_status"] == "active"
    assert "agree" not in twice.get_json()["allowed_actions"]


def test_a_rejected_goal_accepts_nothing_more(api: GoalsApi, goal: str) -> None:
    rejected = api.post(f"{goal}/rejection", {"rejected_by": CLIENT, "reason": "not yet"})
    then = api.post(f"{goal}/steps", {"description": "Wind down at ten"})

    assert rejected.get_json()["lifecycle_status"] == "rejected"
    assert then.status_code == 409
    assert then.get_json()["allowed_actions"] == []


def test_steps_are_planned_and_completed_once_on_an_active_goal(
    api: GoalsApi, active_goal: str
) -> None:
    planned = api.post(
        f"{active_goal}/steps", {"description": "Wind down", "due_date": "2025-10-01"}
    )
    step = planned.headers["Location"]
    done = api.post(f"{step}/completion", {"note": "three nights in a row"})
    again = api.post(f"{step}/completion", {})

    assert planned.status_code == 201
    assert planned.get_json()["status"] == "planned"
    assert planned.headers["ETag"] == '"3"'
    assert done.status_code == 200
    [completed] = done.get_json()["steps"]
    assert (completed["status"], completed["note"]) == ("completed", "three nights in a row")
    assert again.status_code == 409
    assert api.get(step).get_json()["status"] == "completed"


def test_a_step_of_a_cancelled_goal_cannot_be_completed(api: GoalsApi, active_goal: str) -> None:
    step = api.post(f"{active_goal}/steps", {"description": "Walk"}).headers["Location"]
    api.post(f"{active_goal}/cancellation", {"reason": "moving away"})

    refused = api.post(f"{step}/completion", {})

    assert refused.status_code == 409
    assert refused.get_json()["current_status"] == "cancelled"


def test_an_unknown_step_is_a_404(api: GoalsApi, active_goal: str) -> None:
    missing = api.post(f"{active_goal}/steps/00000000-0000-4000-8000-000000000000/completion", {})

    assert missing.status_code == 404


def test_hold_resume_and_cancel_move_the_goal_with_reasons(api: GoalsApi, active_goal: str) -> None:
    held = api.post(f"{active_goal}/hold", {"reason": "surgery", "by": THERAPIST})
    resumed = api.post(f"{active_goal}/resume", {"reason": "recovered"})
    cancelled = api.post(f"{active_goal}/cancellation", {"reason": "no longer wanted"})
    without_reason = api.post(f"{active_goal}/hold", {})

    assert held.get_json()["lifecycle_status"] == "on-hold"
    assert held.get_json()["allowed_actions"] == ["revise", "revise_step", "resume", "cancel"]
    assert resumed.get_json()["lifecycle_status"] == "active"
    assert cancelled.get_json()["lifecycle_status"] == "cancelled"
    assert without_reason.status_code == 422


def test_check_ins_trend_the_achievement_status_and_achieving_completes(
    api: GoalsApi, active_goal: str
) -> None:
    statuses = [
        api.post(f"{active_goal}/check-ins", {"rating": r, "by": CLIENT}).get_json()
        for r in (3, 6, 6, 2)
    ]
    achieved = api.post(f"{active_goal}/achievement", {"note": "sleeping well"})
    out_of_range = api.post(f"{active_goal}/check-ins", {"rating": 11, "by": CLIENT})

    assert [s["achievement_status"] for s in statuses] == [
        "in-progress",
        "improving",
        "no-change",
        "worsening",
    ]
    assert statuses[-1]["latest_rating"] == 2
    body = achieved.get_json()
    assert (body["lifecycle_status"], body["achievement_status"]) == ("completed", "achieved")
    assert out_of_range.status_code == 422


def test_a_revision_needs_a_reason_and_carries_before_and_after(
    app: Flask, api: GoalsApi, active_goal: str
) -> None:
    without_reason = api.patch(active_goal, {"changes": {"title": "Sleep six hours"}})
    empty = api.patch(active_goal, {"reason": "why not", "changes": {}})
    not_revisable = api.patch(active_goal, {"reason": "x", "changes": {"proposed_by": CLIENT}})
    revised = api.patch(
        active_goal,
        {"reason": "a smaller first step", "changes": {"title": "Sleep six hours"}},
        if_match=2,
    )

    assert without_reason.status_code == 422
    assert "reason" in without_reason.get_json()["errors"]
    assert empty.status_code == 422
    assert not_revisable.status_code == 422
    assert revised.status_code == 200
    assert revised.headers["ETag"] == '"3"'
    assert revised.get_json()["title"] == "Sleep six hours"
    goals = app.extensions["waypoint"].goals
    engine = app.extensions["waypoint"].engine
    with engine.connect() as conn:
        events = goals.repository.replay(conn, "clinic-a", active_goal.rsplit("/", 1)[1])
    revision = events[-1][0]
    assert revision.reason == "a smaller first step"
    assert revision.changes == {
        "title": {"before": "Sleep through the night", "after": "Sleep six hours"}
    }


def test_a_revision_that_changes_nothing_is_a_409_naming_changes(
    api: GoalsApi, active_goal: str
) -> None:
    same = api.patch(active_goal, {"reason": "tidy", "changes": {"priority": "high"}})

    assert same.status_code == 409
    assert same.headers["Content-Type"] == "application/problem+json"
    assert "nothing to revise" in same.get_json()["errors"]["changes"][0]


def test_a_step_revision_carries_its_reason_and_changes_the_step(
    api: GoalsApi, active_goal: str
) -> None:
    step = api.post(f"{active_goal}/steps", {"description": "Walk"}).headers["Location"]

    revised = api.patch(step, {"reason": "rainy week", "changes": {"due_date": "2025-11-01"}})
    without_reason = api.patch(step, {"changes": {"description": "Swim"}})

    assert revised.status_code == 200
    assert revised.get_json()["steps"][0]["due_date"] == "2025-11-01"
    assert without_reason.status_code == 422


def test_a_stale_if_match_is_a_412_and_changes_nothing(api: GoalsApi, active_goal: str) -> None:
    stale = api.post(f"{active_goal}/hold", {"reason": "break"}, if_match=1)

    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == 2
    assert api.get(active_goal).get_json()["lifecycle_status"] == "active"


def test_history_lists_every_event_with_time_actor_and_version(
    api: GoalsApi, active_goal: str
) -> None:
    api.post(f"{active_goal}/hold", {"reason": "break", "by": THERAPIST})

    first = api.get(f"{active_goal}/history", limit=2).get_json()
    rest = api.get(f"{active_goal}/history", cursor=first["next_cursor"]).get_json()

    items = first["items"] + rest["items"]
    assert [i["type"] for i in items] == ["goal_proposed", "goal_agreed", "goal_put_on_hold"]
    assert [i["version"] for i in items] == [1, 2, 3]
    assert items[1]["actor"] == {"system": "ehr", "person": CLIENT}
    assert items[2]["actor"]["person"] == THERAPIST
    assert rest["next_cursor"] is None
    assert datetime.fromisoformat(items[0]["time"]) <= datetime.now(UTC)


def test_a_goal_as_of_an_earlier_time_shows_its_state_then(api: GoalsApi, goal: str) -> None:
    time.sleep(0.01)
    before_agreement = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    api.post(f"{goal}/agreement", {"agreed_by": CLIENT})

    then = api.get(goal, as_of=before_agreement)
    now = api.get(goal)

    assert (then.get_json()["lifecycle_status"], then.headers["ETag"]) == ("proposed", '"1"')
    assert now.get_json()["lifecycle_status"] == "active"


def test_the_plan_shows_all_of_a_clients_goals_with_steps_and_statuses(
    api: GoalsApi, client_id: str
) -> None:
    first = api.propose(client_id).headers["Location"]
    api.post(f"{first}/agreement", {"agreed_by": CLIENT})
    api.post(f"{first}/steps", {"description": "Wind down"})
    time.sleep(0.01)
    before_second = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    api.propose(client_id, title="Call a friend weekly", proposed_by=CLIENT)

    plan = api.get(f"/v1/clients/{client_id}/plan").get_json()
    earlier = api.get(f"/v1/clients/{client_id}/plan", as_of=before_second).get_json()
    page = api.get(f"/v1/clients/{client_id}/plan", limit=1).get_json()
    next_page = api.get(f"/v1/clients/{client_id}/plan", limit=1, cursor=page["next_cursor"])

    assert [(g["title"], g["lifecycle_status"], len(g["steps"])) for g in plan["goals"]] == [
        ("Sleep through the night", "active", 1),
        ("Call a friend weekly", "proposed", 0),
    ]
    assert [g["title"] for g in earlier["goals"]] == ["Sleep through the night"]
    assert [g["title"] for g in next_page.get_json()["goals"]] == ["Call a friend weekly"]
    assert next_page.get_json()["next_cursor"] is None


def test_a_known_client_without_goals_has_an_empty_plan_an_unknown_one_a_404(
    api: GoalsApi, client_id: str
) -> None:
    assert api.get(f"/v1/clients/{client_id}/plan").get_json()["goals"] == []
    unknown = api.get("/v1/clients/00000000-0000-4000-8000-000000000000/plan")
    assert unknown.status_code == 404


def test_an_idempotent_retry_of_a_step_plans_it_once(api: GoalsApi, active_goal: str) -> None:
    headers = {**api.headers(), "Idempotency-Key": "plan-step-0000001"}
    body = {"description": "Wind down"}

    first = api.http.post(f"{active_goal}/steps", json=body, headers=headers)
    retry = api.http.post(f"{active_goal}/steps", json=body, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert first.headers["Location"] == retry.headers["Location"]
    assert len(api.get(active_goal).get_json()["steps"]) == 1


def test_reading_needs_goals_read_and_writing_goals_write(api: GoalsApi, goal: str) -> None:
    api.scopes = "goals:read"

    assert api.get(goal).status_code == 200
    assert api.post(f"{goal}/agreement", {"agreed_by": CLIENT}).status_code == 403
