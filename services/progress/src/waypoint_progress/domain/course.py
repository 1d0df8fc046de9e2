"""A course's outcome, as NHS Talking Therapies reports it (docs/progress.md, "Outcomes").

The outcome is judged on the PHQ-9/GAD-7 pair, from each instrument's first score (an intake
screening or an attended session, the first in clinical time) to its last (the last attended
session that scored it). Before discharge it is the outcome so far; at discharge it is final, and
the course is finished when the client attended at least two treatment sessions. Recovery and
reliable change are `None` while the pair is missing: a first or a last score of either
instrument.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from waypoint_progress.domain.corrections import counts, in_source_order
from waypoint_progress.domain.ids import name_based
from waypoint_progress.domain.journey import Journey, Scored
from waypoint_progress.domain.outcomes import deteriorated, improved, is_case, reliably
from waypoint_progress.domain.scoring import CLINICAL, INSTRUMENTS, Thresholds
from waypoint_progress.domain.sources import SourceEvent

SO_FAR, FINAL = "so_far", "final"
OUTCOME_NAMESPACE = uuid.UUID("0b8e4f2a-7c1d-5e39-8a64-2f5d9c3b7e10")
DISCHARGED = "client_discharged"  # the only event that gives a journey its discharge
MINIMUM_SESSIONS = 2  # attended treatment sessions of a finished course


@dataclass(frozen=True)
class CourseOutcome:
    status: str  # so_far | final
    finished_course: bool
    attended_sessions: int
    first: dict[str, Any]  # {"PHQ-9": n | None, "GAD-7": n | None, "date": "YYYY-MM-DD" | None}
    last: dict[str, Any]
    caseness_at_first: bool | None
    recovery: bool | None
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    reliable_recovery: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def journey_of(events: Iterable[SourceEvent], thresholds: Thresholds) -> Journey:
    """A client's journey after all of its source events, taken in source order."""
    journey = Journey(thresholds)
    for event in in_source_order(events):
        if counts(event):
            journey.take(event)
    return journey


def course_outcome(events: Iterable[SourceEvent], thresholds: Thresholds) -> CourseOutcome:
    """The outcome of a client's course from its source events."""
    return outcome_of(journey_of(events, thresholds))


def at_discharge(
    events: Iterable[SourceEvent], thresholds: Thresholds
) -> tuple[SourceEvent, CourseOutcome] | None:
    """A discharged client's last discharge and final outcome; None before discharge."""
    events = list(events)
    if not any(e.name == DISCHARGED for e in events):
        return None  # only a discharge makes one: no journey to walk
    journey = journey_of(events, thresholds)
    return None if journey.discharge is None else (journey.discharge, outcome_of(journey))


def outcome_event_id(discharge: SourceEvent, outcome: CourseOutcome) -> str:
    """The id of the outcome published for a discharge: the same discharge and outcome always
    give the same id; an outcome a late session changed gives another."""
    content = json.dumps(outcome.as_dict(), sort_keys=True)
    return name_based(OUTCOME_NAMESPACE, f"{discharge.event_id}:{content}")


def outcome_of(journey: Journey) -> CourseOutcome:
    """The outcome of the course a journey has reached so far."""
    firsts, lasts = clinical(journey.firsts), clinical(journey.lasts)
    sessions, discharged = len(journey.attended_sessions), journey.discharge is not None
    judged = judge(firsts, lasts, journey.thresholds)
    return CourseOutcome(
        status=FINAL if discharged else SO_FAR,
        finished_course=discharged and sessions >= MINIMUM_SESSIONS,
        attended_sessions=sessions,
        first=scores_on(journey.firsts, min),
        last=scores_on(journey.lasts, max),
        **judged,
    )


def clinical(scores: Mapping[str, Scored]) -> dict[str, float] | None:
    """PHQ-9 and GAD-7 totals, or None unless both were scored."""
    if not all(i in scores for i in CLINICAL):
        return None
    return {i: scores[i].total for i in CLINICAL}


def judge(
    firsts: dict[str, float] | None, lasts: dict[str, float] | None, thresholds: Thresholds
) -> dict[str, bool | None]:
    """Caseness at first, recovery and reliable change, None where the pair is missing."""
    case = None if firsts is None else is_case(firsts, thresholds)
    if firsts is None or lasts is None:
        return {
            "caseness_at_first": case,
            "recovery": None,
            "reliable_improvement": None,
            "reliable_deterioration": None,
            "reliable_recovery": None,
        }
    reliable = reliably(firsts, lasts, thresholds)
    recovery = bool(case) and not is_case(lasts, thresholds)
    return {
        "caseness_at_first": case,
        "recovery": recovery,
        "reliable_improvement": improved(reliable),
        "reliable_deterioration": deteriorated(reliable),
        "reliable_recovery": recovery and improved(reliable),
    }


def scores_on(scores: Mapping[str, Scored], pick: Callable[[list[date]], date]) -> dict[str, Any]:
    """The PHQ-9 and GAD-7 totals and the day of the first (min) or last (max) of them."""
    days = [scores[i].day for i in CLINICAL if i in scores]
    return {
        **{i: whole(scores[i].total) if i in scores else None for i in CLINICAL},
        "date": pick(days).isoformat() if days else None,
    }


def whole(total: float) -> float | int:
    """PHQ-9 and GAD-7 totals are whole numbers; they travel as such."""
    return int(total) if float(total).is_integer() else total


def first_to_last(journey: Journey) -> list[dict[str, Any]]:
    """Each instrument scored, its first and its last score (docs/progress.md, "Outcomes")."""
    return [
        {
            "instrument": instrument,
            "first": scored_on(journey.firsts[instrument]),
            "last": scored_on(journey.lasts.get(instrument)),
        }
        for instrument in INSTRUMENTS
        if instrument in journey.firsts
    ]


def scored_on(score: Scored | None) -> dict[str, Any] | None:
    return None if score is None else {"score": whole(score.total), "date": score.day.isoformat()}
