"""Scoring the instruments: item scores in, total and band out. Item texts are never kept.

PHQ-9 and GAD-7 items are integers 0 to 3; ORS and SRS items are 10 cm visual-analogue marks scored
0.0 to 10.0 with one decimal. Bands of ORS and SRS use the clinical cut-offs from configuration;
ORS's cut-off depends on the client's age group (adult 25, adolescent 28, child 32: the ORS and
CORS manuals), read from intake's referral, and a client of unknown age group counts as an adult.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """NHS Talking Therapies definitions and the ORS/SRS cut-offs (PROGRESS_* overrides them)."""

    phq9_caseness: int = 10
    gad7_caseness: int = 8
    phq9_reliable_change: int = 6
    gad7_reliable_change: int = 4
    srs_alliance: float = 36.0
    ors_clinical_cutoff: float = 25.0  # adults (18 and over), and clients of unknown age group
    ors_clinical_cutoff_adolescent: float = 28.0  # 13 to 17
    ors_clinical_cutoff_child: float = 32.0  # under 13

    def ors_cutoff(self, age_group: str | None) -> float:
        """The ORS clinical cut-off for an age group ("child", "adolescent", "adult" or None)."""
        if age_group == "child":
            return self.ors_clinical_cutoff_child
        if age_group == "adolescent":
            return self.ors_clinical_cutoff_adolescent
        return self.ors_clinical_cutoff


@dataclass(frozen=True)
class Instrument:
    name: str
    items: int
    highest: float
    integer: bool


INSTRUMENTS = {
    "PHQ-9": Instrument("PHQ-9", 9, 3, integer=True),
    "GAD-7": Instrument("GAD-7", 7, 3, integer=True),
    "ORS": Instrument("ORS", 4, 10.0, integer=False),
    "SRS": Instrument("SRS", 4, 10.0, integer=False),
}
CLINICAL = ("PHQ-9", "GAD-7")
MAXIMUM_TOTAL = {name: i.items * i.highest for name, i in INSTRUMENTS.items()}
# (lowest total of the band, band), highest first
PHQ9_BANDS = (
    (20, "severe"),
    (15, "moderately severe"),
    (10, "moderate"),
    (5, "mild"),
    (0, "minimal"),
)
GAD7_BANDS = ((15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))


@dataclass(frozen=True)
class Score:
    instrument: str
    items: tuple[float, ...]
    total: float
    band: str


def item_problems(instrument: str, items: Sequence[object]) -> list[str]:
    """What is wrong with a list of item scores (empty when it can be scored)."""
    spec = INSTRUMENTS[instrument]
    if len(items) != spec.items:
        return [f"{instrument} has {spec.items} items; got {len(items)}."]
    return [
        f"Item {n}: {_item_rule(spec)}"
        for n, value in enumerate(items, start=1)
        if not _item_ok(spec, value)
    ]


def _item_rule(spec: Instrument) -> str:
    if spec.integer:
        return f"must be a whole number from 0 to {spec.highest:g}."
    return f"must be a number from 0.0 to {spec.highest:.1f} with at most one decimal."


def _item_ok(spec: Instrument, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if spec.integer and not float(value).is_integer():
        return False
    return 0 <= value <= spec.highest and round(value, 1) == value  # one decimal, as written


def score(
    instrument: str, items: Sequence[float], thresholds: Thresholds, age_group: str | None = None
) -> Score:
    """Total and band of items that passed item_problems, for a client of this age group.
    Items of a whole-number instrument are kept as integers (2.0 is the number 2)."""
    if INSTRUMENTS[instrument].integer:
        items = [int(item) for item in items]
    total = sum(items) if INSTRUMENTS[instrument].integer else round(sum(items), 1)
    return Score(instrument, tuple(items), total, band(instrument, total, thresholds, age_group))


def band(
    instrument: str, total: float, thresholds: Thresholds, age_group: str | None = None
) -> str:
    if instrument == "PHQ-9":
        return _lookup(PHQ9_BANDS, total)
    if instrument == "GAD-7":
        return _lookup(GAD7_BANDS, total)
    if instrument == "ORS":
        clinical = total < thresholds.ors_cutoff(age_group)
        return "clinical range" if clinical else "non-clinical range"
    return "alliance concern" if total < thresholds.srs_alliance else "strong alliance"


def _lookup(bands: tuple[tuple[int, str], ...], total: float) -> str:
    return next(name for lowest, name in bands if total >= lowest)
