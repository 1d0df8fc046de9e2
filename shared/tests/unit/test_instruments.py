"""The instruments table: ranges, directions of improvement and FHIR codings, one per instrument."""

import pytest

from waypoint_shared.catalog.events.common import INSTRUMENTS as CATALOG_INSTRUMENTS
from waypoint_shared.catalog.instruments import (
    BANDS,
    INSTRUMENTS,
    LOINC,
    MEASURES_SYSTEM,
    band,
    instrument,
    interpretation,
)


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


def test_a_band_is_coded_in_the_code_system_of_measures_with_its_name_as_text() -> None:
    assert interpretation("PHQ-9", "moderately severe") == {
        "coding": [
            {
                "system": MEASURES_SYSTEM,
                "code": "PHQ-9-moderately-severe",
                "display": "PHQ-9 moderately severe",
            }
        ],
        "text": "moderately severe",
    }
    assert interpretation("ORS", "clinical range")["coding"][0]["code"] == "ORS-clinical-range"


def test_a_band_the_table_does_not_know_stays_text() -> None:
    assert interpretation("SRS", "fragile") == {"text": "fragile"}
    assert band("GAD-7", "moderately severe") is None  # a PHQ-9 band only


def test_each_scored_band_runs_from_its_lowest_total_to_the_next_bands() -> None:
    assert [b.definition for b in BANDS["GAD-7"]] == [
        "GAD-7 total 0 to 4",
        "GAD-7 total 5 to 9",
        "GAD-7 total 10 to 14",
        "GAD-7 total 15 to 21",
    ]
