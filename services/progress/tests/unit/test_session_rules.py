"""A session check-in that cannot be clinically true is refused before it is recorded: measures
only in an attended session, and no date more than one day after today (UTC)."""

from __future__ import annotations

from datetime import date

import pytest

from waypoint_progress.domain.sessions import date_problems, measures_problems

TODAY = date(2026, 3, 20)


def test_an_attended_session_may_carry_measures() -> None:
    assert measures_problems(True, [{"instrument": "PHQ-9"}]) == []


def test_a_missed_session_is_recorded_without_measures() -> None:
    assert measures_problems(False, []) == []


def test_a_missed_session_with_a_measure_is_refused() -> None:
    assert measures_problems(False, [{"instrument": "ORS"}]) == [
        "Measures are taken only in a session the client attended."
    ]


@pytest.mark.parametrize("day", [date(2026, 3, 21), TODAY, date(2026, 2, 20), date(1990, 1, 1)])
def test_a_session_up_to_one_day_after_today_or_in_the_past_is_possible(day: date) -> None:
    assert date_problems(day, TODAY) == []


@pytest.mark.parametrize("day", [date(2026, 3, 22), date(2027, 3, 20)])
def test_a_session_more_than_one_day_after_today_is_refused(day: date) -> None:
    [problem] = date_problems(day, TODAY)
    assert problem.startswith("Must not be more than one day after today")
