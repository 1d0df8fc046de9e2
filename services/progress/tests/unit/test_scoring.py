"""Scoring the instruments: totals, bands, and what does not fit an instrument."""

from __future__ import annotations

import pytest

from waypoint_devkit.instruments import GAD7_BANDS, PHQ9_BANDS
from waypoint_progress.domain.scoring import Thresholds, item_problems, score

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
