"""Staying well after therapy: the plan a client and therapist agree for when therapy ends, and
the follow-up check-ins on achieved goals that show whether the change is held.

The plan is one stream per client. Each agreement records the whole plan; a later agreement
revises it. Follow-ups are check-ins on a goal that was achieved, taken after discharge: a rating
at least the previous one means the goal is `sustaining`, a lower one `worsening`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from waypoint_goals.domain.eligibility import ClientEligibility
from waypoint_goals.domain.errors import StayingWellPlanNotFound
from waypoint_goals.domain.events import GoalCheckedIn, Party
from waypoint_goals.domain.goal import Goal

Contact = dict[str, Any]  # {"name", "relationship"?, "phone"?}
PLAN_FIELDS = ("warning_signs", "what_helps", "who_to_contact", "agreed_by")


@dataclass(frozen=True)
class StayingWellPlanAgreed:
    client_id: str
    warning_signs: list[str]
    what_helps: list[str]
    who_to_contact: list[Contact]
    agreed_by: list[Party]


EVENTS: tuple[type, ...] = (StayingWellPlanAgreed,)


def plan_stream(client_id: str) -> str:
    """The stream of a client's staying-well plan, beside the client's goal streams."""
    return f"staying-well-plan:{client_id}"


@dataclass
class StayingWellPlan:
    client_id: str
    version: int = 0
    warning_signs: list[str] = field(default_factory=list)
    what_helps: list[str] = field(default_factory=list)
    who_to_contact: list[Contact] = field(default_factory=list)
    agreed_by: list[Party] = field(default_factory=list)

    def agree(self, **plan: Any) -> StayingWellPlanAgreed | None:
        """The plan as now agreed; None when it is the plan already on record."""
        if self.version and all(plan[name] == getattr(self, name) for name in PLAN_FIELDS):
            return None
        return StayingWellPlanAgreed(self.client_id, **plan)

    def apply(self, event: StayingWellPlanAgreed) -> None:
        for name in PLAN_FIELDS:
            setattr(self, name, getattr(event, name))
        self.version += 1

    @classmethod
    def rebuilt(cls, client_id: str, events: list[StayingWellPlanAgreed]) -> StayingWellPlan:
        plan = cls(client_id)
        for event in events:
            plan.apply(event)
        return plan

    def ensure_agreed(self) -> StayingWellPlan:
        if not self.version:
            raise StayingWellPlanNotFound(self.client_id)
        return self


def check_in(
    goal: Goal, client: ClientEligibility, rating: int, by: Party, note: str | None
) -> GoalCheckedIn:
    """A check-in on an active goal; after discharge, a follow-up on an achieved goal is the
    only check-in left, and every other goal stays refused as discharged."""
    if client.discharged_at is not None and goal.lifecycle_status == "completed":
        client.ensure_consent_holds()
        return follow_up(goal, rating, by, note)
    client.ensure_goal_work_may_continue()
    return goal.check_in(rating, by, note)


def follow_up(goal: Goal, rating: int, by: Party, note: str | None) -> GoalCheckedIn:
    """Whether an achieved goal is still held: `worsening` below the previous rating, else
    `sustaining`."""
    previous = goal.latest_rating
    status = "worsening" if previous is not None and rating < previous else "sustaining"
    return GoalCheckedIn(goal.goal_id, goal.client_id, rating, status, by, note)
