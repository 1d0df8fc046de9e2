"""What the timeline rules need to know about a client, folded from its source events in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

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
    first_session_scores: dict[str, float] = field(default_factory=dict)
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
        # The latest intake screening before a session is that session's baseline.
        self.screenings[event.facts["instrument"]] = event.facts["total"]

    def _take_session_recorded(self, event: SourceEvent) -> None:
        for instrument, measure in measures_of(event).items():
            self.first_session_scores.setdefault(instrument, measure["total"])
        if event.facts.get("attended"):
            self.attended_sessions.add(event.facts["session_id"])

    @property
    def safe_space(self) -> bool:
        return self.active_consents >= SAFE_SPACE_CONSENTS

    def baselines(self) -> dict[str, float]:
        """Per instrument: the intake screening, or else the first session score."""
        return {**self.first_session_scores, **self.screenings}

    def assessment(self, event: SourceEvent) -> Assessment:
        """How a session's PHQ-9/GAD-7 compare with the baselines (take the session first)."""
        scores = {i: m["total"] for i, m in measures_of(event).items() if i in CLINICAL}
        return assess(self.baselines(), scores, self.thresholds)
