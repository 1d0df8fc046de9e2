"""A goal that client and therapist set together: stream per goal. It decides, events record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from waypoint_goals.domain.errors import NotFound, NothingChanged, Refused, StepNotFound
from waypoint_goals.domain.events import (
    EVENTS,
    ActionStepCompleted,
    ActionStepPlanned,
    ActionStepRevised,
    GoalAchieved,
    GoalAgreed,
    GoalCancelled,
    GoalCheckedIn,
    GoalProposed,
    GoalPutOnHold,
    GoalRejected,
    GoalResumed,
    GoalRevised,
    GoalTargetMet,
    Party,
)
from waypoint_goals.domain.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    achievement_after,
    next_status,
)
from waypoint_goals.domain.targets import meets

__all__ = ["EVENTS", "Goal", "Step"]

GOAL_FIELDS = (
    "title",
    "description",
    "why_it_matters",
    "strengths",
    "addresses",
    "modality",
    "priority",
    "target_date",
    "target",
)
STEP_FIELDS = ("description", "due_date")
AGREED_AND_OPEN = ("active", "on-hold")  # the statuses in which a target can be met


@dataclass
class Step:
    step_id: str
    description: str
    due_date: str | None = None
    status: str = "planned"
    note: str | None = None
    completed_on: str | None = None


@dataclass
class Goal:
    goal_id: str
    client_id: str = ""
    version: int = 0
    lifecycle_status: str = "unknown"
    achievement_status: str | None = None
    latest_rating: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    agreed_by: Party | None = None
    agreed_on: str | None = None
    steps: dict[str, Step] = field(default_factory=dict)
    target_met: dict[str, Any] | None = None  # {instrument, score, session_id, met_on}

    @staticmethod
    def propose(goal_id: str, client_id: str, **details: Any) -> GoalProposed:
        return GoalProposed(goal_id=goal_id, client_id=client_id, **details)

    def agree(self, agreed_by: Party, agreed_on: str | None = None) -> GoalAgreed:
        self._ensure_other_party("agree", agreed_by)
        return GoalAgreed(self.goal_id, self.client_id, agreed_by, agreed_on)

    def reject(self, rejected_by: Party, reason: str) -> GoalRejected:
        self._ensure_other_party("reject", rejected_by)
        return GoalRejected(self.goal_id, self.client_id, rejected_by, reason)

    def plan_step(self, step_id: str, description: str, due_date: str | None) -> ActionStepPlanned:
        next_status("plan_step", self.lifecycle_status)
        return ActionStepPlanned(self.goal_id, self.client_id, step_id, description, due_date)

    def complete_step(
        self, step_id: str, note: str | None, completed_on: str | None = None
    ) -> ActionStepCompleted:
        next_status("complete_step", self.lifecycle_status)
        if self.step(step_id).status == "completed":
            raise Refused("This action step is already completed.", step_id=step_id)
        return ActionStepCompleted(self.goal_id, self.client_id, step_id, note, completed_on)

    def meet_target(
        self, instrument: str, score: float, session_id: str, held_on: str
    ) -> GoalTargetMet | None:
        """The target met by a session's score, or None: the goal must be agreed and open, its
        target not met before, and the session held on or after the day it was agreed."""
        target = self.details.get("target")
        if self.target_met or self.lifecycle_status not in AGREED_AND_OPEN or not target:
            return None
        if self.agreed_on and held_on < self.agreed_on:
            return None
        if not meets(target, instrument, score):
            return None
        return GoalTargetMet(self.goal_id, self.client_id, instrument, score, session_id, held_on)

    def revise(self, reason: str, changes: dict[str, Any]) -> GoalRevised:
        next_status("revise", self.lifecycle_status)
        diff = _diff(self.details, changes)
        return GoalRevised(self.goal_id, self.client_id, reason, list(diff), diff)

    def revise_step(self, step_id: str, reason: str, changes: dict[str, Any]) -> ActionStepRevised:
        next_status("revise_step", self.lifecycle_status)
        diff = _diff(vars(self.step(step_id)), changes)
        return ActionStepRevised(self.goal_id, self.client_id, step_id, reason, list(diff), diff)

    def check_in(self, rating: int, by: Party, note: str | None) -> GoalCheckedIn:
        next_status("check_in", self.lifecycle_status)
        status = achievement_after(self.latest_rating, rating)
        return GoalCheckedIn(self.goal_id, self.client_id, rating, status, by, note)

    def hold(self, reason: str) -> GoalPutOnHold:
        next_status("hold", self.lifecycle_status)
        return GoalPutOnHold(self.goal_id, self.client_id, reason)

    def resume(self, reason: str) -> GoalResumed:
        next_status("resume", self.lifecycle_status)
        return GoalResumed(self.goal_id, self.client_id, reason)

    def cancel(self, reason: str) -> GoalCancelled:
        next_status("cancel", self.lifecycle_status)
        return GoalCancelled(self.goal_id, self.client_id, reason)

    def achieve(self, note: str | None) -> GoalAchieved:
        next_status("achieve", self.lifecycle_status)
        return GoalAchieved(self.goal_id, self.client_id, note)

    def step(self, step_id: str) -> Step:
        if step_id not in self.steps:
            raise StepNotFound(step_id)
        return self.steps[step_id]

    def _ensure_other_party(self, action: str, party: Party) -> None:
        next_status(action, self.lifecycle_status)
        proposer = self.details["proposed_by"]["role"]
        if party["role"] == proposer:
            other = "therapist" if proposer == "client" else "client"
            detail = f"The {proposer} proposed this goal; only the {other} can {action} it."
            raise IllegalTransition(action, self.lifecycle_status, detail)

    def apply(self, event: object) -> None:
        getattr(self, f"_apply_{type(event).__name__}")(event)
        self.version += 1

    def _move(self, action: str) -> None:
        self.lifecycle_status = TRANSITIONS[action][self.lifecycle_status]

    def _apply_GoalProposed(self, event: GoalProposed) -> None:
        self.client_id = event.client_id
        self.details = {k: v for k, v in vars(event).items() if k not in ("goal_id", "client_id")}
        self.lifecycle_status = "proposed"

    def _apply_GoalAgreed(self, event: GoalAgreed) -> None:
        self._move("agree")
        self.agreed_by, self.agreed_on = event.agreed_by, event.agreed_on

    def _apply_GoalRejected(self, event: GoalRejected) -> None:
        self._move("reject")

    def _apply_ActionStepPlanned(self, event: ActionStepPlanned) -> None:
        self.steps[event.step_id] = Step(event.step_id, event.description, event.due_date)

    def _apply_ActionStepCompleted(self, event: ActionStepCompleted) -> None:
        step = self.steps[event.step_id]
        step.status, step.note, step.completed_on = "completed", event.note, event.completed_on

    def _apply_GoalCheckedIn(self, event: GoalCheckedIn) -> None:
        self.latest_rating, self.achievement_status = event.rating, event.achievement_status

    def _apply_GoalRevised(self, event: GoalRevised) -> None:
        self.details.update({name: c["after"] for name, c in event.changes.items()})

    def _apply_ActionStepRevised(self, event: ActionStepRevised) -> None:
        for name, change in event.changes.items():
            setattr(self.steps[event.step_id], name, change["after"])

    def _apply_GoalPutOnHold(self, event: GoalPutOnHold) -> None:
        self._move("hold")

    def _apply_GoalResumed(self, event: GoalResumed) -> None:
        self._move("resume")

    def _apply_GoalCancelled(self, event: GoalCancelled) -> None:
        self._move("cancel")

    def _apply_GoalAchieved(self, event: GoalAchieved) -> None:
        self._move("achieve")
        self.achievement_status = "achieved"

    def _apply_GoalTargetMet(self, event: GoalTargetMet) -> None:
        self.target_met = {
            k: v for k, v in vars(event).items() if k not in ("goal_id", "client_id")
        }

    @classmethod
    def rebuilt(cls, goal_id: str, events: list[object]) -> Goal:
        if not events:
            raise NotFound(goal_id)
        goal = cls(goal_id)
        for event in events:
            goal.apply(event)
        return goal


def _diff(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field whose value really changes, with its before and after."""
    diff = {
        name: {"before": current.get(name), "after": after}
        for name, after in changes.items()
        if current.get(name) != after
    }
    if not diff:
        raise NothingChanged()
    return diff
