"""Scoring the baseline screening instruments: totals, severity bands (listed in docs/intake.md),
risk."""

from __future__ import annotations

from dataclasses import dataclass

from waypoint_intake.domain.errors import InvalidRequest


@dataclass(frozen=True)
class Instrument:
    name: str
    item_count: int
    bands: tuple[tuple[int, str], ...]  # (lowest total of the band, its name), ascending


PHQ9 = Instrument(
    "PHQ-9",
    9,
    ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe")),
)
GAD7 = Instrument("GAD-7", 7, ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")))
INSTRUMENTS = {i.name: i for i in (PHQ9, GAD7)}
ITEM_RANGE = range(0, 4)
RISK_ITEM = 9  # PHQ-9 item 9: thoughts of self-harm; any score above 0 needs care at once


@dataclass(frozen=True)
class Score:
    total: int
    severity: str


def instrument(name: str) -> Instrument:
    if name not in INSTRUMENTS:
        raise InvalidRequest({"instrument": [f"must be one of {sorted(INSTRUMENTS)}"]})
    return INSTRUMENTS[name]


def score(name: str, items: list[int]) -> Score:
    """The total and severity band of a completed instrument; 422 for a malformed one."""
    measure = instrument(name)
    if len(items) != measure.item_count:
        raise InvalidRequest({"items": [f"{name} has {measure.item_count} items"]})
    if any(item not in ITEM_RANGE for item in items):
        raise InvalidRequest({"items": ["each item is scored 0 to 3"]})
    total = sum(items)
    return Score(total, severity(measure, total))


def severity(measure: Instrument, total: int) -> str:
    return [name for lowest, name in measure.bands if total >= lowest][-1]


def risk_score(name: str, items: list[int]) -> int | None:
    """The score of the risk item when it signals risk (PHQ-9 item 9 above 0), else None."""
    if name != PHQ9.name:
        return None
    value = items[RISK_ITEM - 1]
    return value if value > 0 else None
