"""What happens to a goal: one frozen dataclass per catalog event, named as the catalog names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Party = dict[str, str]  # {"role": "client" | "therapist", "id": …}
Changes = dict[str, dict[str, Any]]  # {field: {"before": …, "after": …}}


@dataclass(frozen=True)
class GoalProposed:
    goal_id: str
    client_id: str
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
class GoalAgreed:
    goal_id: str
    client_id: str
    agreed_by: Party


@dataclass(frozen=True)
class GoalRejected:
    goal_id: str
    client_id: str
    rejected_by: Party
    reason: str


@dataclass(frozen=True)
class ActionStepPlanned:
    goal_id: str
    client_id: str
    step_id: str
    description: str
    due_date: str | None = None


@dataclass(frozen=True)
class ActionStepCompleted:
    goal_id: str
    client_id: str
    step_id: str
    note: str | None = None


@dataclass(frozen=True)
class GoalCheckedIn:
    goal_id: str
    client_id: str
    rating: int
    achievement_status: str
    by: Party
    note: str | None = None


@dataclass(frozen=True)
class GoalRevised:
    goal_id: str
    client_id: str
    reason: str
    changed_fields: list[str]
    changes: Changes


@dataclass(frozen=True)
class ActionStepRevised:
    goal_id: str
    client_id: str
    step_id: str
    reason: str
    changed_fields: list[str]
    changes: Changes


@dataclass(frozen=True)
class GoalPutOnHold:
    goal_id: str
    client_id: str
    reason: str


@dataclass(frozen=True)
class GoalResumed:
    goal_id: str
    client_id: str
    reason: str


@dataclass(frozen=True)
class GoalCancelled:
    goal_id: str
    client_id: str
    reason: str


@dataclass(frozen=True)
class GoalAchieved:
    goal_id: str
    client_id: str
    note: str | None = None


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
)
