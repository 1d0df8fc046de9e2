"""Scoring the instruments: totals, bands, and what does not fit an instrument."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waypoint_devkit.instruments import GAD7_BANDS, PHQ9_BANDS
from waypoint_progress import config
from waypoint_progress.domain.scoring import Thresholds, item_problems, score
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.trajectory import trajectory
from waypoint_shared.config import load_settings

NHS = Thresholds()


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_phq9_bands(total: int, band: str) -> None:
    items = [3] * (total // 3) + [total % 3] + [0] * 9
    assert score("PHQ-9", items[:9], NHS).band == band


@pytest.mark.parametrize(("total", "band"), GAD7_BANDS)
def test_gad7_bands(total: int, band: str) -> None:
    items = ([3] * (total // 3) + [total % 3] + [0] * 7)[:7]
    assert score("GAD-7", items, NHS).total == total
    assert score("GAD-7", items, NHS).band == band


def test_ors_and_srs_total_to_one_decimal_and_band_by_their_cut_offs() -> None:
    assert score("ORS", [6.1, 6.2, 6.3, 6.3], NHS).total == 24.9
    assert score("ORS", [6.1, 6.2, 6.3, 6.3], NHS).band == "clinical range"
    assert score("SRS", [9.0, 9.0, 9.0, 9.0], NHS).band == "strong alliance"
    assert score("SRS", [7.5, 7.5, 7.5, 7.5], NHS).band == "alliance concern"


def test_a_wrong_number_of_items_is_named() -> None:
    assert item_problems("PHQ-9", [1] * 8) == ["PHQ-9 has 9 items; got 8."]
    assert item_problems("SRS", [1.0] * 5) == ["SRS has 4 items; got 5."]


def test_phq9_and_gad7_items_are_whole_numbers_from_0_to_3() -> None:
    assert item_problems("GAD-7", [0, 1, 2, 3, 0, 1, 2]) == []
    problems = item_problems("GAD-7", [0, 4, -1, 1.5, True, "2", 0])
    assert [p.split(":")[0] for p in problems] == ["Item 2", "Item 3", "Item 4", "Item 5", "Item 6"]


def test_ors_and_srs_items_are_0_to_10_with_one_decimal() -> None:
    assert item_problems("ORS", [0, 10, 5.5, 9.9]) == []
    problems = item_problems("ORS", [10.1, -0.1, 5.55, 3])
    assert [p.split(":")[0] for p in problems] == ["Item 1", "Item 2", "Item 3"]


# The ORS cut-off of the age group intake gives at referral: below it is the clinical range.
ORS_BY_AGE_GROUP = [
    ("child", [7.5, 7.5, 7.5, 7.5], 30.0, "clinical range"),
    ("child", [8.0, 8.0, 8.0, 8.0], 32.0, "non-clinical range"),
    ("adolescent", [7.0, 7.0, 7.0, 6.9], 27.9, "clinical range"),
    ("adolescent", [7.0, 7.0, 7.0, 7.0], 28.0, "non-clinical range"),
    ("adolescent", [7.5, 7.5, 7.5, 7.5], 30.0, "non-clinical range"),
    ("adult", [7.5, 7.5, 7.5, 7.5], 30.0, "non-clinical range"),
    ("adult", [6.1, 6.2, 6.3, 6.3], 24.9, "clinical range"),
    ("adult", [6.2, 6.3, 6.2, 6.3], 25.0, "non-clinical range"),
    (None, [7.5, 7.5, 7.5, 7.5], 30.0, "non-clinical range"),
    (None, [6.1, 6.2, 6.3, 6.3], 24.9, "clinical range"),
]


@pytest.mark.parametrize(("age_group", "items", "total", "band"), ORS_BY_AGE_GROUP)
def test_the_ors_band_uses_the_clinical_cut_off_of_the_clients_age_group(
    age_group: str | None, items: list[float], total: float, band: str
) -> None:
    scored = score("ORS", items, NHS, age_group)

    assert (scored.total, scored.band) == (total, band)


@pytest.mark.parametrize(
    ("age_group", "cutoff"), [("child", 32.0), ("adolescent", 28.0), ("adult", 25.0), (None, 25.0)]
)
def test_the_ors_cut_offs_are_those_of_the_ors_and_cors_manuals(
    age_group: str | None, cutoff: float
) -> None:
    assert NHS.ors_cutoff(age_group) == cutoff


def test_each_ors_cut_off_is_configured_on_its_own() -> None:
    thresholds = Thresholds(ors_clinical_cutoff_child=30.0)

    assert score("ORS", [7.4, 7.4, 7.4, 7.4], thresholds, "child").band == "clinical range"
    assert score("ORS", [7.5, 7.5, 7.5, 7.5], thresholds, "child").band == "non-clinical range"


def test_the_ors_cut_offs_come_from_progress_settings_like_the_other_thresholds() -> None:
    env = {
        "PROGRESS_ORS_CLINICAL_CUTOFF": "24",
        "PROGRESS_ORS_CLINICAL_CUTOFF_ADOLESCENT": "27.5",
        "PROGRESS_ORS_CLINICAL_CUTOFF_CHILD": "31",
    }

    thresholds = config.thresholds(load_settings("progress", env))

    assert [thresholds.ors_cutoff(g) for g in ("adult", "adolescent", "child")] == [24, 27.5, 31]


@pytest.mark.parametrize(
    ("age_group", "band"), [("child", "clinical range"), (None, "non-clinical range")]
)
def test_the_ors_trajectory_is_banded_by_the_age_group_of_the_kept_referral(
    age_group: str | None, band: str
) -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    referral = SourceEvent(
        "e-1", "intake", "client_referred", "clinic-a", "c-1", at, 1, {"age_group": age_group}
    )
    ors = {"instrument": "ORS", "items": [7.5] * 4, "total": 30.0, "band": None}
    facts = {"session_id": "s-1", "date": "2026-03-09", "attended": True, "measures": [ors]}
    session = SourceEvent("e-2", "progress", "session_recorded", "clinic-a", "c-1", at, 1, facts)

    [point] = trajectory([session, referral], "ORS", NHS)

    assert (point.score, point.band) == (30.0, band)
