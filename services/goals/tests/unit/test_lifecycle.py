"""The goal lifecycle in the domain: every transition allowed or refused, two-party agreement,
achievement from check-ins, and revisions that carry before and after."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from waypoint_goals.domain.errors import NothingChanged, Refused, StepNotFound
from waypoint_goals.domain.events import GoalEvent
from waypoint_goals.domain.goal import Goal
from waypoint_goals.domain.lifecycle import TRANSITIONS, IllegalTransition

CLIENT = {"role": "client", "id": "c-1"}
THERAPIST = {"role": "therapist", "id": "t-1"}
LATER = {"due_date": "2025-09-01"}
STATUSES = ("proposed", "active", "on-hold", "rejected", "cancelled", "completed")
REACH = {  # actions that bring a freshly proposed goal to each status
    "proposed": [],
    "active": ["agree"],
    "on-hold": ["agree", "hold"],
    "rejected": ["reject"],
    "cancelled": ["cancel"],
    "completed": ["agree", "achieve"],
}


def proposed(by: dict[str, str] = THERAPIST) -> Goal:
    event = Goal.propose(
        "g-1",
        "c-1",
        title="Sleep through the night",
        modality="cbt",
        priority="high",
        proposed_by=by,
        target_date="2025-09-01",
    )
    return Goal.rebuilt("g-1", [event])


def act(goal: Goal, action: str) -> Goal:
    """Take an action with plausible arguments, applying its event as the store would."""
    decisions: dict[str, Callable[[], GoalEvent]] = {
        "agree": lambda: goal.agree(CLIENT),
        "reject": lambda: goal.reject(CLIENT, "not now"),
        "revise": lambda: goal.revise("clearer", {"title": f"{goal.details['title']}!"}),
        "plan_step": lambda: goal.plan_step(f"s-{len(goal.steps)}", "Wind down at 10", None),
        "complete_step": lambda: goal.complete_step(_open_step(goal), "done"),
        "revise_step": lambda: goal.revise_step(_any_step(goal), "later", LATER),
        "check_in": lambda: goal.check_in(5, CLIENT, None),
        "hold": lambda: goal.hold("travelling"),
        "resume": lambda: goal.resume("back home"),
        "cancel": lambda: goal.cancel("no longer relevant"),
        "achieve": lambda: goal.achieve("sleeping well"),
    }
    goal.apply(decisions[action]())
    return goal


def _open_step(goal: Goal) -> str:
    """A planned step; goals without one get a made-up id, which the status check refuses first."""
    return next((s.step_id for s in goal.steps.values() if s.status == "planned"), "s-none")


def _any_step(goal: Goal) -> str:
    return next(iter(goal.steps), "s-none")


def in_status(status: str) -> Goal:
    """A goal in the status; active and on-hold ones have a planned step to act on."""
    goal = proposed()
    for action in REACH[status]:
        if action == "hold":
            act(goal, "plan_step")
        act(goal, action)
    if status == "active":
        act(goal, "plan_step")
    return goal


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_action_is_allowed_exactly_where_the_transition_table_says(
    status: str, action: str
) -> None:
    goal = in_status(status)

    if status in TRANSITIONS[action]:
        act(goal, action)
        assert goal.lifecycle_status == TRANSITIONS[action][status]
    else:
        with pytest.raises(IllegalTransition) as refused:
            act(goal, action)
        assert refused.value.extra["current_status"] == status
        assert action not in refused.value.extra["allowed_actions"]
        assert goal.lifecycle_status == status


def test_final_statuses_allow_nothing_at_all() -> None:
    for status in ("rejected", "cancelled", "completed"):
        goal = in_status(status)
        for action in TRANSITIONS:
            with pytest.raises(IllegalTransition) as refused:
                act(goal, action)
            assert refused.value.extra["allowed_actions"] == []


def test_the_proposer_cannot_agree_to_their_own_goal_the_other_party_must() -> None:
    goal = proposed(by=THERAPIST)

    with pytest.raises(IllegalTransition) as refused:
        goal.agree({"role": "therapist", "id": "t-2"})

    assert "only the client can agree" in refused.value.detail
    goal.apply(goal.agree(CLIENT))
    assert goal.lifecycle_status == "active"
    assert goal.agreed_by == CLIENT


def test_a_client_proposal_is_agreed_by_the_therapist() -> None:
    goal = proposed(by=CLIENT)

    goal.apply(goal.agree(THERAPIST))

    assert goal.lifecycle_status == "active"


def test_rejection_also_belongs_to_the_other_party_and_is_final() -> None:
    goal = proposed(by=CLIENT)
    with pytest.raises(IllegalTransition):
        goal.reject(CLIENT, "changed my mind")

    goal.apply(goal.reject(THERAPIST, "too broad for now"))

    assert goal.lifecycle_status == "rejected"
    with pytest.raises(IllegalTransition):
        goal.agree(THERAPIST)


def test_agreeing_twice_is_refused() -> None:
    goal = act(proposed(), "agree")

    with pytest.raises(IllegalTransition) as refused:
        goal.agree(CLIENT)

    assert refused.value.extra["current_status"] == "active"


@pytest.mark.parametrize(
    ("ratings", "statuses"),
    [
        ([4], ["in-progress"]),
        ([4, 6], ["in-progress", "improving"]),
        ([6, 3], ["in-progress", "worsening"]),
        ([5, 5], ["in-progress", "no-change"]),
        ([2, 5, 5, 4, 9], ["in-progress", "improving", "no-change", "worsening", "improving"]),
        ([0, 10], ["in-progress", "improving"]),
    ],
)
def test_achievement_status_follows_each_rating_against_the_previous_one(
    ratings: list[int], statuses: list[str]
) -> None:
    goal = act(proposed(), "agree")
    seen = []
    for rating in ratings:
        event = goal.check_in(rating, CLIENT, None)
        goal.apply(event)
        seen.append(event.achievement_status)

    assert seen == statuses
    assert goal.achievement_status == statuses[-1]
    assert goal.latest_rating == ratings[-1]


def test_achieving_completes_the_goal_and_marks_it_achieved() -> None:
    goal = act(act(proposed(), "agree"), "check_in")

    goal.apply(goal.achieve("I sleep most nights"))

    assert (goal.lifecycle_status, goal.achievement_status) == ("completed", "achieved")


def test_a_step_cannot_be_completed_twice_nor_a_step_that_does_not_exist() -> None:
    goal = act(act(proposed(), "agree"), "plan_step")
    act(goal, "complete_step")

    with pytest.raises(Refused) as refused:
        goal.complete_step("s-0", None)
    assert refused.value.extra["step_id"] == "s-0"
    with pytest.raises(StepNotFound):
        goal.complete_step("s-404", None)


def test_a_revision_carries_before_and_after_of_each_changed_field_only() -> None:
    goal = act(proposed(), "agree")

    event = goal.revise(
        "smaller first step", {"title": "Sleep six hours", "priority": "high", "target_date": None}
    )

    assert event.changed_fields == ["title", "target_date"]
    assert event.changes == {
        "title": {"before": "Sleep through the night", "after": "Sleep six hours"},
        "target_date": {"before": "2025-09-01", "after": None},
    }
    goal.apply(event)
    assert goal.details["title"] == "Sleep six hours"
    assert goal.details["target_date"] is None


def test_a_revision_that_changes_nothing_is_refused() -> None:
    goal = act(proposed(), "agree")

    with pytest.raises(NothingChanged):
        goal.revise("no reason", {"priority": "high"})


def test_a_step_revision_changes_the_step() -> None:
    goal = act(act(proposed(), "agree"), "plan_step")

    event = goal.revise_step("s-0", "busy week", {"description": "Wind down at 11"})
    goal.apply(event)

    assert event.changes == {
        "description": {"before": "Wind down at 10", "after": "Wind down at 11"}
    }
    assert goal.steps["s-0"].description == "Wind down at 11"
