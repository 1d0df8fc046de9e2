"""The instruments table: ranges, directions of improvement and FHIR codings, one per instrument."""

import pytest

from waypoint_shared.catalog.events.common import INSTRUMENTS as CATALOG_INSTRUMENTS
from waypoint_shared.catalog.instruments import INSTRUMENTS, LOINC, MEASURES_SYSTEM, instrument


@pytest.mark.parametrize(
    ("name", "minimum", "maximum", "direction"),
    [
        ("PHQ-9", 0, 27, "down"),
        ("GAD-7", 0, 21, "down"),
        ("ORS", 0, 40, "up"),
        ("SRS", 0, 40, "up"),
    ],
)
def test_each_instrument_has_its_range_and_direction_of_improvement(
    name: str, minimum: float, maximum: float, direction: str
) -> None:
    entry = instrument(name)
    assert (entry.minimum, entry.maximum, entry.direction) == (minimum, maximum, direction)
    assert entry.in_range(minimum) and entry.in_range(maximum)
    assert not entry.in_range(maximum + 0.1) and not entry.in_range(minimum - 1)


def test_phq9_and_gad7_keep_their_loinc_total_score_codes() -> None:
    assert instrument("PHQ-9").coding.as_fhir() == {
        "system": LOINC,
        "code": "44261-6",
        "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    }
    assert instrument("GAD-7").coding.as_fhir() == {
        "system": LOINC,
        "code": "70274-6",
        "display": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    }


def test_ors_and_srs_share_the_suites_code_system_of_measures() -> None:
    assert {instrument(n).coding.system for n in ("ORS", "SRS")} == {MEASURES_SYSTEM}
    assert [instrument(n).coding.code for n in ("ORS", "SRS")] == ["ORS", "SRS"]


def test_the_table_knows_every_instrument_the_catalog_names() -> None:
    assert set(INSTRUMENTS) == set(CATALOG_INSTRUMENTS)
