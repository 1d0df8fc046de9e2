"""What the timeline rules need to know about a client, folded from its source events in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from waypoint_progress.domain.outcomes import Assessment, assess
from waypoint_progress.domain.scoring import CLINICAL, Thresholds
from waypoint_progress.domain.sources import SourceEvent, measures_of, source_order

SAFE_SPACE_CONSENTS = frozenset({"treatment", "confidentiality"})


@dataclass(frozen=True)
class Scored:
    """One score of one instrument, with the day it was taken and where it sorts in clinical
    order: the day, then an intake screening before a session of the same day, then source
    order."""

    total: float
    day: date
    order: tuple[Any, ...]


def clinical_day(event: SourceEvent) -> date:
    """The day a score was taken: a session's date, else the event's clinical time."""
    if event.name == "session_recorded":
        return date.fromisoformat(str(event.facts["date"]))
    return event.occurred_at.date()


def scored(event: SourceEvent, total: float) -> Scored:
    day = clinical_day(event)
    return Scored(total, day, (day, event.name != "screening_recorded", source_order(event)))


@dataclass
class Journey:
    """A client's journey so far; `take` each source event in source order."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    active_consents: set[str] = field(default_factory=set)
    agreed_goals: set[str] = field(default_factory=set)
    planned: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    completed: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    firsts: dict[str, Scored] = field(default_factory=dict)
    lasts: dict[str, Scored] = field(default_factory=dict)
    attended_sessions: set[str] = field(default_factory=set)
    discharge: SourceEvent | None = None

    def take(self, event: SourceEvent) -> None:
        getattr(self, f"_take_{event.name}", lambda _: None)(event)

    def _take_consent_granted(self, event: SourceEvent) -> None:
        self.active_consents.add(event.facts["kind"])

    def _take_consent_revoked(self, event: SourceEvent) -> None:
        self.active_consents.discard(event.facts["kind"])

    def _take_goal_agreed(self, event: SourceEvent) -> None:
        self.agreed_goals.add(event.facts["goal_id"])

    def _take_action_step_planned(self, event: SourceEvent) -> None:
        self.planned[event.facts["goal_id"]].add(event.facts["step_id"])

    def _take_action_step_completed(self, event: SourceEvent) -> None:
        self.completed[event.facts["goal_id"]].add(event.facts["step_id"])

    def _take_client_discharged(self, event: SourceEvent) -> None:
        self.discharge = event

    def _take_screening_recorded(self, event: SourceEvent) -> None:
        self._first(event, event.facts["instrument"], event.facts["total"])

    def _take_session_recorded(self, event: SourceEvent) -> None:
        if not attended(event):
            return
        self.attended_sessions.add(event.facts["session_id"])
        for instrument, measure in measures_of(event).items():
            score = self._first(event, instrument, measure["total"])
            last = self.lasts.get(instrument)
            if last is None or score.order > last.order:
                self.lasts[instrument] = score

    def _first(self, event: SourceEvent, instrument: str, total: float) -> Scored:
        """Keep the score if it is the instrument's first in clinical order: a re-screen or a
        session dated later never replaces it."""
        score = scored(event, total)
        first = self.firsts.get(instrument)
        if first is None or score.order < first.order:
            self.firsts[instrument] = score
        return score

    @property
    def safe_space(self) -> bool:
        return self.active_consents >= SAFE_SPACE_CONSENTS

    def baselines(self) -> dict[str, float]:
        """Per instrument, its first score (NHS Talking Therapies): the first in clinical time,
        of an intake screening or an attended session (a screening first on the same day)."""
        return {instrument: first.total for instrument, first in self.firsts.items()}

    def assessment(self, event: SourceEvent) -> Assessment:
        """How a session's PHQ-9/GAD-7 compare with the baselines (take the session first)."""
        scores = {i: m["total"] for i, m in measures_of(event).items() if i in CLINICAL}
        return assess(self.baselines(), scores, self.thresholds)


def attended(event: SourceEvent) -> bool:
    return event.name == "session_recorded" and bool(event.facts.get("attended"))
