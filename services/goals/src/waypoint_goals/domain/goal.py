"""A goal that client and therapist set together: stream per goal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NotFound(Exception):
    """No such goal for this tenant."""


class ClientNotKnownYet(Exception):
    """Goals has not yet consumed the client's referral from intake."""


@dataclass(frozen=True)
class GoalProposed:
    goal_id: str
    client_id: str
    title: str
    modality: str
    priority: str
    proposed_by: dict[str, str]
    description: str | None = None
    why_it_matters: str | None = None
    strengths: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    target_date: str | None = None
    target: dict[str, Any] | None = None


EVENTS: tuple[type, ...] = (GoalProposed,)


@dataclass
class Goal:
    goal_id: str
    client_id: str = ""
    version: int = 0
    lifecycle_status: str = "unknown"
    details: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def propose(goal_id: str, client_id: str, **details: Any) -> GoalProposed:
        return GoalProposed(goal_id=goal_id, client_id=client_id, **details)

    def apply(self, event: object) -> None:
        getattr(self, f"_apply_{type(event).__name__}")(event)
        self.version += 1

    def _apply_GoalProposed(self, event: GoalProposed) -> None:
        self.client_id = event.client_id
        self.details = {k: v for k, v in vars(event).items() if k not in ("goal_id", "client_id")}
        self.lifecycle_status = "proposed"

    @classmethod
    def rebuilt(cls, goal_id: str, events: list[object]) -> Goal:
        if not events:
            raise NotFound(goal_id)
        goal = cls(goal_id)
        for event in events:
            goal.apply(event)
        return goal
