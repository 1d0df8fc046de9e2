"""What the timeline rules need to know about a client, folded from its source events in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from waypoint_progress.domain.outcomes import Assessment, assess
from waypoint_progress.domain.scoring import CLINICAL, Thresholds
from waypoint_progress.domain.sources import SourceEvent, measures_of

SAFE_SPACE_CONSENTS = frozenset({"treatment", "confidentiality"})


@dataclass
class Journey:
    """A client's journey so far; `take` each source event in source order."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    active_consents: set[str] = field(default_factory=set)
    agreed_goals: set[str] = field(default_factory=set)
    planned: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    completed: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    screenings: dict[str, float] = field(default_factory=dict)
    first_sessions: dict[str, tuple[str, datetime, float]] = field(default_factory=dict)
    attended_sessions: set[str] = field(default_factory=set)

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

    def _take_screening_recorded(self, event: SourceEvent) -> None:
        # Screenings carry no clinical date: the first recorded is the first administered, and a
        # re-screen never replaces it.
        self.screenings.setdefault(event.facts["instrument"], event.facts["total"])

    def _take_session_recorded(self, event: SourceEvent) -> None:
        if not event.facts.get("attended"):
            return
        self.attended_sessions.add(event.facts["session_id"])
        when = (str(event.facts["date"]), event.occurred_at)
        for instrument, measure in measures_of(event).items():
            first = self.first_sessions.get(instrument)
            if first is None or when < first[:2]:
                self.first_sessions[instrument] = (*when, measure["total"])

    @property
    def safe_space(self) -> bool:
        return self.active_consents >= SAFE_SPACE_CONSENTS

    def baselines(self) -> dict[str, float]:
        """Per instrument, its first score (NHS Talking Therapies): the first intake screening,
        or else the first attended session that scored it (by session date, then recorded time).
        """
        from_sessions = {i: total for i, (_, _, total) in self.first_sessions.items()}
        return {**from_sessions, **self.screenings}

    def assessment(self, event: SourceEvent) -> Assessment:
        """How a session's PHQ-9/GAD-7 compare with the baselines (take the session first)."""
        scores = {i: m["total"] for i, m in measures_of(event).items() if i in CLINICAL}
        return assess(self.baselines(), scores, self.thresholds)
