"""Reliable change and caseness, as NHS Talking Therapies defines them (docs/progress.md,
"Outcomes").

A case is PHQ-9 ≥ 10 or GAD-7 ≥ 8. Reliable improvement: PHQ-9 drops by ≥ 6 or GAD-7 by ≥ 4 from
the first score and neither measure reliably deteriorated; reliable deterioration is the mirror
image. Thresholds come from configuration.

`assess` judges one session against the first scores ("so far"); `domain/course.py` judges a whole
course on its first and last scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from waypoint_progress.domain.scoring import CLINICAL, Thresholds
from waypoint_progress.domain.values import quick_init

IMPROVED, DETERIORATED, NO_RELIABLE_CHANGE = "improved", "deteriorated", "no reliable change"


@quick_init
@dataclass(frozen=True)
class Assessment:
    """A session's PHQ-9/GAD-7 against the first scores.

    `reliable_improvement` and `below_caseness` need the pair: both instruments scored in the
    session, each with a first score, so that neither is claimed while GAD-7 (or PHQ-9) is
    unknown. `reliable_deterioration` is an alert and takes whichever of the two were scored.
    """

    changes: Mapping[str, float]  # instrument → score minus first score
    reliable: Mapping[str, str]  # instrument → improved | deteriorated | no reliable change
    paired: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    below_caseness: bool

    @property
    def recovery(self) -> bool:
        """The session's scores are below caseness after a case at first (not course recovery,
        which is judged at the end of a course)."""
        return self.below_caseness


def caseness(instrument: str, thresholds: Thresholds) -> int:
    return thresholds.phq9_caseness if instrument == "PHQ-9" else thresholds.gad7_caseness


def reliable_change(instrument: str, thresholds: Thresholds) -> int:
    if instrument == "PHQ-9":
        return thresholds.phq9_reliable_change
    return thresholds.gad7_reliable_change


def direction(instrument: str, change: float, thresholds: Thresholds) -> str:
    """Lower scores are better on both instruments."""
    if change <= -reliable_change(instrument, thresholds):
        return IMPROVED
    if change >= reliable_change(instrument, thresholds):
        return DETERIORATED
    return NO_RELIABLE_CHANGE


def is_case(scores: Mapping[str, float], thresholds: Thresholds) -> bool:
    return any(scores[i] >= caseness(i, thresholds) for i in CLINICAL if i in scores)


def reliably(
    firsts: Mapping[str, float], scores: Mapping[str, float], thresholds: Thresholds
) -> dict[str, str]:
    """Per instrument scored at both times: improved, deteriorated or no reliable change."""
    paired = [i for i in CLINICAL if i in scores and i in firsts]
    return {i: direction(i, scores[i] - firsts[i], thresholds) for i in paired}


def improved(reliable: Mapping[str, str]) -> bool:
    """Reliable improvement: one measure improved and neither deteriorated."""
    return IMPROVED in reliable.values() and DETERIORATED not in reliable.values()


def deteriorated(reliable: Mapping[str, str]) -> bool:
    """Reliable deterioration: one measure deteriorated and neither improved."""
    return DETERIORATED in reliable.values() and IMPROVED not in reliable.values()


def below_caseness(scores: Mapping[str, float], thresholds: Thresholds) -> bool:
    """Both measures scored and neither at caseness."""
    return all(i in scores and scores[i] < caseness(i, thresholds) for i in CLINICAL)


def assess(
    baselines: Mapping[str, float], scores: Mapping[str, float], thresholds: Thresholds
) -> Assessment:
    """A session's PHQ-9/GAD-7 scores against the client's first scores."""
    reliable = reliably(baselines, scores, thresholds)
    paired = len(reliable) == len(CLINICAL)
    return Assessment(
        changes={i: scores[i] - baselines[i] for i in reliable},
        reliable=reliable,
        paired=paired,
        reliable_improvement=paired and improved(reliable),
        reliable_deterioration=deteriorated(reliable),
        below_caseness=paired
        and is_case(baselines, thresholds)
        and below_caseness(scores, thresholds),
    )
