"""A goal's target on an instrument, and when a recorded score meets it.

A target is `{instrument, score, direction}`. The direction is the instrument's direction of
improvement: `at_or_below` for PHQ-9 and GAD-7, `at_or_above` for ORS and SRS. It travels with the
target, so this rule needs no table of instruments.
"""

from __future__ import annotations

from typing import Any

MEETS = {
    "at_or_below": lambda score, target: score <= target,
    "at_or_above": lambda score, target: score >= target,
}


def meets(target: dict[str, Any], instrument: str, score: float) -> bool:
    """Whether a score on an instrument meets the target: same instrument, the right side."""
    if target.get("instrument") != instrument:
        return False
    return bool(MEETS[target["direction"]](score, target["score"]))
