"""Reliable change and recovery, as NHS Talking Therapies defines them.

A case is PHQ-9 ≥ 10 or GAD-7 ≥ 8. Reliable improvement: PHQ-9 drops by ≥ 6 or GAD-7 by ≥ 4 from
baseline and neither measure reliably deteriorated; reliable deterioration is the mirror image.
Recovery: the baseline was a case and both instruments, scored in the same session, are now below
caseness. Thresholds come from configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from waypoint_progress.domain.scoring import CLINICAL, Thresholds

IMPROVED, DETERIORATED, NO_RELIABLE_CHANGE = "improved", "deteriorated", "no reliable change"


@dataclass(frozen=True)
class Assessment:
    changes: Mapping[str, float]  # instrument → score minus baseline
    reliable: Mapping[str, str]  # instrument → improved | deteriorated | no reliable change
    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool


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


def assess(
    baselines: Mapping[str, float], scores: Mapping[str, float], thresholds: Thresholds
) -> Assessment:
    """A session's PHQ-9/GAD-7 scores against the client's baselines."""
    paired = [i for i in CLINICAL if i in scores and i in baselines]
    changes = {i: scores[i] - baselines[i] for i in paired}
    reliable = {i: direction(i, changes[i], thresholds) for i in paired}
    improved, deteriorated = IMPROVED in reliable.values(), DETERIORATED in reliable.values()
    below = all(i in scores and scores[i] < caseness(i, thresholds) for i in CLINICAL)
    return Assessment(
        changes,
        reliable,
        reliable_improvement=improved and not deteriorated,
        reliable_deterioration=deteriorated and not improved,
        recovery=is_case(baselines, thresholds) and below,
    )
