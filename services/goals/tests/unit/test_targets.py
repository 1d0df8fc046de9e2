"""When a recorded score meets a goal's target: the rule case by case, and what the goal says."""

from __future__ import annotations

import pytest

from waypoint_goals.domain.events import GoalAgreed, GoalProposed, GoalTargetMet
from waypoint_goals.domain.goal import Goal
from waypoint_goals.domain.targets import meets

PHQ9_AT_OR_BELOW_9 = {"instrument": "PHQ-9", "score": 9.0, "direction": "at_or_below"}
GAD7_AT_OR_BELOW_7 = {"instrument": "GAD-7", "score": 7.0, "direction": "at_or_below"}
ORS_AT_OR_ABOVE_25 = {"instrument": "ORS", "score": 25.0, "direction": "at_or_above"}
SRS_AT_OR_ABOVE_36 = {"instrument": "SRS", "score": 36.0, "direction": "at_or_above"}


@pytest.mark.parametrize(
    ("target", "instrument", "score", "met"),
    [
        (PHQ9_AT_OR_BELOW_9, "PHQ-9", 9, True),
        (PHQ9_AT_OR_BELOW_9, "PHQ-9", 10, False),
        (PHQ9_AT_OR_BELOW_9, "PHQ-9", 0, True),
        (GAD7_AT_OR_BELOW_7, "GAD-7", 7, True),
        (GAD7_AT_OR_BELOW_7, "GAD-7", 8, False),
        (ORS_AT_OR_ABOVE_25, "ORS", 25.0, True),
        (ORS_AT_OR_ABOVE_25, "ORS", 24.9, False),
        (ORS_AT_OR_ABOVE_25, "ORS", 40.0, True),
        (SRS_AT_OR_ABOVE_36, "SRS", 36.0, True),
        (SRS_AT_OR_ABOVE_36, "SRS", 35.9, False),
        (PHQ9_AT_OR_BELOW_9, "GAD-7", 3, False),  # another instrument's score meets nothing
        (ORS_AT_OR_ABOVE_25, "SRS", 39.0, False),
    ],
    ids=lambda value: str(value) if not isinstance(value, dict) else value["instrument"],
)
def test_a_score_meets_a_target_on_its_instrument_in_the_targets_direction(
    target: dict[str, object], instrument: str, score: float, met: bool
) -> None:
    assert meets(target, instrument, score) is met


GOAL_ID, CLIENT_ID, SESSION_ID = "g-1", "c-1", "s-1"
THERAPIST, CLIENT = {"role": "therapist", "id": "t-7"}, {"role": "client", "id": "amara"}


def proposed(target: dict[str, object] | None = PHQ9_AT_OR_BELOW_9) -> Goal:
    return Goal.rebuilt(
        GOAL_ID,
        [GoalProposed(GOAL_ID, CLIENT_ID, "Sleep", "cbt", "high", THERAPIST, target=target)],
    )


def agreed(target: dict[str, object] | None = PHQ9_AT_OR_BELOW_9) -> Goal:
    goal = proposed(target)
    goal.apply(GoalAgreed(GOAL_ID, CLIENT_ID, CLIENT, "2025-10-01"))
    return goal


def test_an_agreed_goals_target_met_by_a_session_score_records_the_session_and_its_date() -> None:
    met = agreed().meet_target("PHQ-9", 9.0, SESSION_ID, "2025-10-08")

    assert met == GoalTargetMet(GOAL_ID, CLIENT_ID, "PHQ-9", 9.0, SESSION_ID, "2025-10-08")


def test_a_target_is_met_once_per_goal() -> None:
    goal = agreed()
    goal.apply(goal.meet_target("PHQ-9", 9.0, SESSION_ID, "2025-10-08"))

    assert goal.target_met == {
        "instrument": "PHQ-9",
        "score": 9.0,
        "session_id": SESSION_ID,
        "met_on": "2025-10-08",
    }
    assert goal.meet_target("PHQ-9", 5.0, "s-2", "2025-10-15") is None


def test_a_goal_not_agreed_or_without_a_target_has_no_target_to_meet() -> None:
    assert proposed().meet_target("PHQ-9", 3.0, SESSION_ID, "2025-10-08") is None
    assert agreed(target=None).meet_target("PHQ-9", 3.0, SESSION_ID, "2025-10-08") is None


def test_a_session_held_before_the_goal_was_agreed_does_not_meet_its_target() -> None:
    assert agreed().meet_target("PHQ-9", 3.0, SESSION_ID, "2025-09-30") is None
    assert agreed().meet_target("PHQ-9", 3.0, SESSION_ID, "2025-10-01") is not None
