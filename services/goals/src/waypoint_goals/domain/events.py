"""What happens to a goal: one frozen dataclass per catalog event, named as the catalog names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Party = dict[str, str]  # {"role": "client" | "therapist", "id": …}
Changes = dict[str, dict[str, Any]]  # {field: {"before": …, "after": …}}


@dataclass(frozen=True)
class GoalEvent:
    """What every event of a goal's stream names: the goal and its client."""

    goal_id: str
    client_id: str


@dataclass(frozen=True)
class GoalProposed(GoalEvent):
    title: str
    modality: str
    priority: str
    proposed_by: Party
    description: str | None = None
    why_it_matters: str | None = None
    strengths: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    target_date: str | None = None
    target: dict[str, Any] | None = None


@dataclass(frozen=True)
class GoalAgreed(GoalEvent):
    agreed_by: Party
    agreed_on: str | None = None  # ISO date; None for an agreement recorded before it was kept


@dataclass(frozen=True)
class GoalRejected(GoalEvent):
    rejected_by: Party
    reason: str


@dataclass(frozen=True)
class ActionStepPlanned(GoalEvent):
    step_id: str
    description: str
    due_date: str | None = None


@dataclass(frozen=True)
class ActionStepCompleted(GoalEvent):
    step_id: str
    note: str | None = None
    completed_on: str | None = None  # ISO date; None for a completion recorded before it was kept


@dataclass(frozen=True)
class GoalCheckedIn(GoalEvent):
    rating: int
    achievement_status: str
    by: Party
    note: str | None = None


@dataclass(frozen=True)
class GoalRevised(GoalEvent):
    reason: str
    changed_fields: list[str]
    changes: Changes


@dataclass(frozen=True)
class ActionStepRevised(GoalEvent):
    step_id: str
    reason: str
    changed_fields: list[str]
    changes: Changes


@dataclass(frozen=True)
class GoalPutOnHold(GoalEvent):
    reason: str


@dataclass(frozen=True)
class GoalResumed(GoalEvent):
    reason: str


@dataclass(frozen=True)
class GoalCancelled(GoalEvent):
    reason: str


@dataclass(frozen=True)
class GoalAchieved(GoalEvent):
    note: str | None = None


@dataclass(frozen=True)
class GoalTargetMet(GoalEvent):
    instrument: str
    score: float
    session_id: str
    met_on: str  # ISO date: the session's


EVENTS: tuple[type, ...] = (
    GoalProposed,
    GoalAgreed,
    GoalRejected,
    ActionStepPlanned,
    ActionStepCompleted,
    GoalCheckedIn,
    GoalRevised,
    ActionStepRevised,
    GoalPutOnHold,
    GoalResumed,
    GoalCancelled,
    GoalAchieved,
    GoalTargetMet,
)
