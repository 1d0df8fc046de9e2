"""The milestone and alert tables (docs/progress.md) as data: one rule per row, each a small
function.

A rule looks at the journey (already updated with the event) and the event, and returns the
once-keys the event completes: "" for once-per-client rules, a goal or step id, N for "sessions N",
or the event id for per-event entries. A rule's position in its table is its row (the last key of
the timeline order).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from waypoint_progress.domain.course import outcome_of
from waypoint_progress.domain.journey import Journey, attended
from waypoint_progress.domain.sources import SourceEvent, measures_of

Detect = Callable[[Journey, SourceEvent], Iterable[str]]
SESSION_COUNTS = (5, 10, 20)
ONCE = ("",)


@dataclass(frozen=True)
class On:
    """A rule's detection that completes on every event of the given names."""

    names: frozenset[str]
    key: Callable[[SourceEvent], str]

    def __call__(self, _journey: Journey, event: SourceEvent) -> Iterable[str]:
        return (self.key(event),) if event.name in self.names else ()


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # may name the once-key: "{key} sessions attended"
    detect: Detect
    completed_by: frozenset[str] | None = None  # the names of the events it can complete on

    @property
    def names(self) -> frozenset[str] | None:
        """The only event names the rule can complete on (None: any event's)."""
        return self.detect.names if isinstance(self.detect, On) else self.completed_by


def on(*names: str, key: Callable[[SourceEvent], str] = lambda _: "") -> On:
    """A rule completed by every event of the given names."""
    return On(frozenset(names), key)


def only(*names: str) -> frozenset[str]:
    return frozenset(names)


SESSION = only("session_recorded")


def goal_id(event: SourceEvent) -> str:
    return str(event.facts["goal_id"])


def step_id(event: SourceEvent) -> str:
    return str(event.facts["step_id"])


def event_id(event: SourceEvent) -> str:
    return event.event_id


def safe_space(journey: Journey, event: SourceEvent) -> Iterable[str]:
    return ONCE if event.name == "consent_granted" and journey.safe_space else ()


def plan_ready(journey: Journey, event: SourceEvent) -> Iterable[str]:
    """A step planned on an agreed goal, whichever of the two came last."""
    if event.name not in ("action_step_planned", "goal_agreed"):
        return ()
    goal = goal_id(event)
    return ONCE if goal in journey.agreed_goals and journey.planned[goal] else ()


def halfway(journey: Journey, event: SourceEvent) -> Iterable[str]:
    """Half of a goal's planned steps (two at least) completed, by a completion or by a planning
    that comes later in clinical time (a step completed on a date is at 00:00 of that day, so it
    may sort before the planning recorded later that day)."""
    if event.name not in ("action_step_completed", "action_step_planned"):
        return ()
    goal = goal_id(event)
    planned, done = journey.planned[goal], journey.completed[goal] & journey.planned[goal]
    return (goal,) if len(planned) >= 2 and 2 * len(done) >= len(planned) else ()


def first_reflection(_journey: Journey, event: SourceEvent) -> Iterable[str]:
    shared = event.name == "session_recorded" and event.has_personal("reflection")
    return ONCE if shared else ()


def sessions(journey: Journey, event: SourceEvent) -> Iterable[str]:
    if event.name != "session_recorded" or not event.facts.get("attended"):
        return ()
    count = len(journey.attended_sessions)
    return (str(count),) if count in SESSION_COUNTS else ()


def srs(event: SourceEvent) -> float | None:
    measure = measures_of(event).get("SRS") if event.name == "session_recorded" else None
    return None if measure is None else measure["total"]


def strong_alliance(journey: Journey, event: SourceEvent) -> Iterable[str]:
    total = srs(event)
    return ONCE if total is not None and total >= journey.thresholds.srs_alliance else ()


def alliance_concern(journey: Journey, event: SourceEvent) -> Iterable[str]:
    total = srs(event)
    return (
        (event.event_id,) if total is not None and total < journey.thresholds.srs_alliance else ()
    )


def so_far(flag: str, key: Callable[[SourceEvent], str]) -> Detect:
    """An attended session's flag against the first scores: reliable improvement, reliable
    deterioration or below caseness so far (`outcomes.Assessment`)."""

    def detect(journey: Journey, event: SourceEvent) -> Iterable[str]:
        if not attended(event):
            return ()
        return (key(event),) if getattr(journey.assessment(event), flag) else ()

    return detect


def reliable_recovery(journey: Journey, _event: SourceEvent) -> Iterable[str]:
    """The final course outcome says reliable recovery: completed by the discharge, or by a
    session of the discharge day that sorts after it."""
    if journey.discharge is None:
        return ()
    outcome = outcome_of(journey)
    return ONCE if outcome.finished_course and outcome.reliable_recovery else ()


def risk_flag(_journey: Journey, event: SourceEvent) -> Iterable[str]:
    """PHQ-9 item 9 above 0, at an intake screening or a session."""
    phq9 = measures_of(event).get("PHQ-9")
    items: Sequence[int] = phq9["items"] if phq9 else ()
    return (event.event_id,) if len(items) == 9 and items[8] > 0 else ()


MILESTONES = (
    Rule("journey_started", "Journey started", on("client_referred")),
    Rule(
        "safe_space",
        "Safe space: treatment and confidentiality agreed",
        safe_space,
        only("consent_granted"),
    ),
    Rule("matched", "Matched with a therapist", on("therapist_assigned")),
    Rule("intake_complete", "Intake complete", on("intake_completed")),
    Rule("first_goal", "First goal agreed", on("goal_agreed")),
    Rule("plan_ready", "Plan ready", plan_ready, only("action_step_planned", "goal_agreed")),
    Rule("small_win", "Small win: a step completed", on("action_step_completed", key=step_id)),
    Rule("halfway", "Halfway there", halfway, only("action_step_completed", "action_step_planned")),
    Rule("goal_achieved", "Goal achieved", on("goal_achieved", key=goal_id)),
    Rule("plan_adapted", "Plan adapted", on("goal_revised", "action_step_revised", key=event_id)),
    Rule("first_reflection", "First reflection shared", first_reflection, SESSION),
    Rule("sessions", "{key} sessions attended", sessions, SESSION),
    # Outcomes before alliance (ADR 0004): the table as first agreed listed strong alliance first;
    # issue 5's acceptance journey orders a session's milestones improvement so far, below
    # caseness, alliance (see docs/progress.md). Reliable recovery comes last: it is a course's.
    Rule(
        "reliable_improvement_so_far",
        "Reliable improvement so far on PHQ-9 and GAD-7",
        so_far("reliable_improvement", lambda _: ""),
        SESSION,
    ),
    Rule(
        "below_caseness",
        "Below caseness on PHQ-9 and GAD-7",
        so_far("below_caseness", lambda _: ""),
        SESSION,
    ),
    Rule("strong_alliance", "Strong alliance", strong_alliance, SESSION),
    Rule("reliable_recovery", "Reliable recovery (NHS Talking Therapies)", reliable_recovery),
    Rule("goal_target_met", "Goal target met", on("goal_target_met", key=goal_id)),
    Rule("staying_well_plan", "Staying-well plan agreed", on("staying_well_plan_agreed")),
)

ALERTS = (
    Rule(
        "risk_flag",
        "Risk flag: PHQ-9 item 9 above 0",
        risk_flag,
        only("screening_recorded", "session_recorded"),
    ),
    Rule(
        "reliable_deterioration_so_far",
        "Reliable deterioration so far",
        so_far("reliable_deterioration", event_id),
        SESSION,
    ),
    Rule(
        "alliance_concern",
        "Alliance concern: SRS below threshold",
        alliance_concern,
        SESSION,
    ),
    Rule("consent_revoked", "Consent revoked", on("consent_revoked", key=event_id)),
)


@functools.cache  # the tables are fixed once imported
def rules_for(name: str) -> tuple[tuple[str, int, Rule], ...]:
    """The rules an event of this name can complete, as (kind, row, rule) in table order: the
    milestones, then the alerts."""
    return tuple(
        (kind, row, rule)
        for kind, table in (("milestone", MILESTONES), ("alert", ALERTS))
        for row, rule in enumerate(table, start=1)
        if rule.names is None or name in rule.names
    )


# Alerts a session raises on its own, without the rest of the journey: raised at once on POST.
SESSION_LOCAL_ALERTS = ("risk_flag", "alliance_concern")
