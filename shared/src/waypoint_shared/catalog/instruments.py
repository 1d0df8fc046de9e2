"""The suite's measurement instruments: one table that every service reads.

Each entry gives the range of an instrument's total score, the direction in which the total
improves, and the FHIR coding of the total. PHQ-9 and GAD-7 totals have LOINC codes; ORS and SRS
have none, so both services code them in the suite's own CodeSystem of measures. The bands a
total falls in (PHQ-9 "moderate", ORS "clinical range", ...) are coded in the same CodeSystem;
the services' scoring tables must name exactly these bands (their tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOINC = "http://loinc.org"
MEASURES_SYSTEM = "https://waypoint.example/fhir/CodeSystem/measures"
DIRECTIONS = ("down", "up")  # of improvement: a lower total is better, or a higher one


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str

    def as_fhir(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Instrument:
    name: str
    minimum: float
    maximum: float
    direction: str  # "down" or "up"
    coding: Coding

    def in_range(self, score: float) -> bool:
        return self.minimum <= score <= self.maximum


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument(
            "PHQ-9",
            0,
            27,
            "down",
            Coding(
                LOINC,
                "44261-6",
                "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
            ),
        ),
        Instrument(
            "GAD-7",
            0,
            21,
            "down",
            Coding(
                LOINC,
                "70274-6",
                "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
            ),
        ),
        Instrument(
            "ORS", 0, 40, "up", Coding(MEASURES_SYSTEM, "ORS", "Outcome Rating Scale total score")
        ),
        Instrument(
            "SRS", 0, 40, "up", Coding(MEASURES_SYSTEM, "SRS", "Session Rating Scale total score")
        ),
    )
}
NAMES = tuple(INSTRUMENTS)


def instrument(name: str) -> Instrument:
    """The table's entry for an instrument name such as `PHQ-9`; KeyError for an unknown one."""
    return INSTRUMENTS[name]


@dataclass(frozen=True)
class Band:
    """A band of an instrument's total, as the scoring names it (e.g. `moderately severe`)."""

    instrument: str
    name: str
    definition: str

    @property
    def code(self) -> str:
        """The band's code in the CodeSystem of measures, e.g. `PHQ-9-moderately-severe`."""
        return f"{self.instrument}-{self.name.replace(' ', '-')}"

    def as_fhir(self) -> dict[str, str]:
        """Its coding, displayed as the instrument and the band's name (`PHQ-9 mild`)."""
        display = f"{self.instrument} {self.name}"
        return {"system": MEASURES_SYSTEM, "code": self.code, "display": display}


def _scored(instrument: str, maximum: int, *lowest: tuple[int, str]) -> tuple[Band, ...]:
    """Bands given by the lowest total of each, ascending; the last runs to the maximum."""
    highest = [start - 1 for start, _ in lowest[1:]] + [maximum]
    return tuple(
        Band(instrument, name, f"{instrument} total {start} to {end}")
        for (start, name), end in zip(lowest, highest, strict=True)
    )


ORS_CUTOFF = (
    "the clinical cut-off for the client's age group (by default 25 for adults and clients of "
    "unknown age group, 28 for adolescents, 32 for children)"
)
SRS_CUTOFF = "the alliance threshold (by default 36)"
# (lowest total, band) per instrument, ascending: the bands intake and progress score into.
PHQ9_BANDS = (
    (0, "minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "moderately severe"),
    (20, "severe"),
)
GAD7_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))
BANDS: dict[str, tuple[Band, ...]] = {
    "PHQ-9": _scored("PHQ-9", 27, *PHQ9_BANDS),
    "GAD-7": _scored("GAD-7", 21, *GAD7_BANDS),
    "ORS": (
        Band("ORS", "clinical range", f"ORS total below {ORS_CUTOFF}"),
        Band("ORS", "non-clinical range", f"ORS total at or above {ORS_CUTOFF}"),
    ),
    "SRS": (
        Band("SRS", "alliance concern", f"SRS total below {SRS_CUTOFF}"),
        Band("SRS", "strong alliance", f"SRS total at or above {SRS_CUTOFF}"),
    ),
}


def band(instrument_name: str, name: str) -> Band | None:
    """The band of an instrument with this name; None for a name the table does not know (an old
    stored event may carry one)."""
    return next((b for b in BANDS.get(instrument_name, ()) if b.name == name), None)


def interpretation(instrument_name: str, name: str) -> dict[str, Any]:
    """A FHIR `interpretation` entry for a band: its coding (when the table knows it) and text."""
    known = band(instrument_name, name)
    return {"coding": [known.as_fhir()], "text": name} if known else {"text": name}
