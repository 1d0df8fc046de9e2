"""A measure's trajectory: every score of one instrument with its change from baseline, banded for
the client's age group (ORS)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from waypoint_progress.domain.corrections import counts, in_source_order
from waypoint_progress.domain.journey import Journey
from waypoint_progress.domain.scoring import Thresholds, band
from waypoint_progress.domain.sources import SourceEvent, measures_of
from waypoint_progress.domain.standing import age_group_of


@dataclass(frozen=True)
class Point:
    source: str  # "screening" (intake's baseline) or "session"
    source_event_id: str
    session_id: str | None
    date: str  # the session's date; a screening's is the day intake recorded it
    recorded_at: datetime
    score: float
    band: str
    baseline: float | None  # None until the instrument has a first score (docs/progress.md)
    change_from_baseline: float | None
    reliable_change: str | None  # per instrument, PHQ-9 and GAD-7 only
    reliable_improvement: bool  # the session as a whole, NHS Talking Therapies
    reliable_deterioration: bool
    recovery: bool


def trajectory(
    events: Iterable[SourceEvent], instrument: str, thresholds: Thresholds
) -> list[Point]:
    """Scores of one instrument in source order, each against the baseline of its time."""
    ordered = in_source_order(events)
    journey, points, age_group = Journey(thresholds), [], age_group_of(ordered)
    for event in ordered:
        if not counts(event):
            continue
        journey.take(event)
        measure = measures_of(event).get(instrument)
        if measure is not None:
            points.append(point(journey, event, instrument, measure["total"], age_group))
    return points


def point(
    journey: Journey, event: SourceEvent, instrument: str, score: float, age_group: str | None
) -> Point:
    session = event.name == "session_recorded"
    baseline = journey.baselines().get(instrument)
    assessment = journey.assessment(event) if session else None
    return Point(
        source="session" if session else "screening",
        source_event_id=event.event_id,
        session_id=event.facts.get("session_id"),
        date=str(event.facts.get("date") or event.occurred_at.date().isoformat()),
        recorded_at=event.recorded,
        score=score,
        band=band(instrument, score, journey.thresholds, age_group),
        baseline=baseline,
        change_from_baseline=None if baseline is None else round(score - baseline, 1),
        reliable_change=assessment.reliable.get(instrument) if assessment else None,
        reliable_improvement=bool(assessment and assessment.reliable_improvement),
        reliable_deterioration=bool(assessment and assessment.reliable_deterioration),
        recovery=bool(assessment and assessment.recovery),
    )
