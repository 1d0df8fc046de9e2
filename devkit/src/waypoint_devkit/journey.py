"""The acceptance journey's numbers, shared by progress's tests and the end-to-end tests: the
measures of its sessions and the milestones it reaches, in timeline order."""

from __future__ import annotations

PHQ9_15 = [2, 2, 2, 2, 2, 2, 2, 1, 0]  # total 15, item 9 zero
GAD7_12 = [2, 2, 2, 2, 2, 1, 1]
PHQ9_8 = [1, 1, 1, 1, 1, 1, 1, 1, 0]
GAD7_6 = [1, 1, 1, 1, 1, 1, 0]
SRS_38 = [9.5, 9.5, 9.5, 9.5]

ACCEPTANCE_MILESTONES = [
    "journey_started",
    "safe_space",
    "matched",
    "intake_complete",
    "first_goal",
    "plan_ready",
    "small_win",
    "halfway",
    "reliable_improvement_so_far",
    "below_caseness",
    "strong_alliance",
]

# A goal as a therapist proposes it, with only the required fields.
GOAL = {
    "title": "Walk every morning",
    "modality": "act",
    "priority": "medium",
    "proposed_by": {"role": "therapist", "id": "t-1"},
}
