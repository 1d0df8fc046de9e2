"""Baseline screenings are scored by the service: totals, the bands of docs/intake.md, the PHQ-9
risk item, and malformed instruments refused."""

from __future__ import annotations

import pytest

from waypoint_devkit.instruments import GAD7_BANDS, PHQ9_BANDS
from waypoint_intake.domain import screening
from waypoint_intake.domain.errors import InvalidRequest


def phq9_with_total(total: int, item9: int = 0) -> list[int]:
    item9 = max(item9, total - 24)  # the first eight items add up to 24 at most
    items, rest = [0] * 9, total - item9
    items[8] = item9
    for i in range(8):
        items[i] = min(3, rest)
        rest -= items[i]
    assert rest == 0 and sum(items) == total
    return items


def gad7_with_total(total: int) -> list[int]:
    return [min(3, max(0, total - 3 * i)) for i in range(7)]


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_phq9_totals_fall_into_the_design_bands(total: int, band: str) -> None:
    result = screening.score("PHQ-9", phq9_with_total(total))

    assert (result.total, result.severity) == (total, band)


def test_the_highest_phq9_total_is_27_and_severe() -> None:
    assert screening.score("PHQ-9", [3] * 9) == screening.Score(27, "severe")


@pytest.mark.parametrize(("total", "band"), GAD7_BANDS)
def test_gad7_totals_fall_into_the_design_bands(total: int, band: str) -> None:
    result = screening.score("GAD-7", gad7_with_total(total))

    assert (result.total, result.severity) == (total, band)


@pytest.mark.parametrize(
    ("instrument", "items", "field"),
    [
        ("PHQ-9", [1] * 8, "items"),
        ("PHQ-9", [1] * 10, "items"),
        ("GAD-7", [1] * 9, "items"),
        ("PHQ-9", [0, 0, 0, 0, 4, 0, 0, 0, 0], "items"),
        ("GAD-7", [0, 0, -1, 0, 0, 0, 0], "items"),
        ("BDI-II", [1] * 21, "instrument"),
        ("phq-9", [1] * 9, "instrument"),
    ],
)
def test_a_wrong_item_count_range_or_instrument_is_refused_naming_the_field(
    instrument: str, items: list[int], field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        screening.score(instrument, items)

    assert list(refused.value.errors) == [field]


def test_a_phq9_item_9_above_zero_is_a_risk_with_its_score() -> None:
    assert screening.risk_score("PHQ-9", phq9_with_total(3, item9=2)) == 2


def test_a_phq9_item_9_of_zero_is_no_risk_even_when_the_total_is_severe() -> None:
    assert screening.risk_score("PHQ-9", [3] * 8 + [0]) is None


def test_a_gad7_carries_no_risk_item() -> None:
    assert screening.risk_score("GAD-7", [3] * 7) is None
