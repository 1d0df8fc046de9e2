"""The suite's measurement instruments: one table that every service reads.

Each entry gives the range of an instrument's total score, the direction in which the total
improves, and the FHIR coding of the total. PHQ-9 and GAD-7 totals have LOINC codes; ORS and SRS
have none, so both services code them in the suite's own CodeSystem of measures.
"""

from __future__ import annotations

from dataclasses import dataclass

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
