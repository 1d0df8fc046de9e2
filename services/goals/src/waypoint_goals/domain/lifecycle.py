"""The goal lifecycle as data: which action each status allows, and where it leads.

Statuses are codes of FHIR's goal-status value set; achievement statuses come from its
goal-achievement code system, so the FHIR export needs no translation table.
"""

from __future__ import annotations

from waypoint_goals.domain.errors import Refused

# action → {status it may be taken in: status it leads to}
TRANSITIONS: dict[str, dict[str, str]] = {
    "agree": {"proposed": "active"},
    "reject": {"proposed": "rejected"},
    "revise": {"proposed": "proposed", "active": "active", "on-hold": "on-hold"},
    "plan_step": {"active": "active"},
    "complete_step": {"active": "active"},
    "revise_step": {"active": "active", "on-hold": "on-hold"},
    "check_in": {"active": "active"},
    "hold": {"active": "on-hold"},
    "resume": {"on-hold": "active"},
    "cancel": {"proposed": "cancelled", "active": "cancelled", "on-hold": "cancelled"},
    "achieve": {"active": "completed"},
}
FINAL_STATUSES = frozenset({"rejected", "cancelled", "completed"})


class IllegalTransition(Refused):
    def __init__(self, action: str, status: str, detail: str | None = None):
        super().__init__(
            detail or f"A goal that is {status} cannot take the action {action!r}.",
            action=action,
            current_status=status,
            allowed_actions=allowed_actions(status),
        )


def allowed_actions(status: str) -> list[str]:
    """The actions a goal in this status allows, in the order of the transition table."""
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def next_status(action: str, status: str) -> str:
    """Where the action leads from this status; IllegalTransition when it is not allowed."""
    moves = TRANSITIONS[action]
    if status not in moves:
        raise IllegalTransition(action, status)
    return moves[status]


def achievement_after(previous_rating: int | None, rating: int) -> str:
    """The first check-in is in progress; later ones compare with the previous rating."""
    if previous_rating is None:
        return "in-progress"
    if rating > previous_rating:
        return "improving"
    if rating < previous_rating:
        return "worsening"
    return "no-change"
