"""A session check-in that cannot be clinically true is refused before it is recorded: measures
only in an attended session, no date more than one day after today (UTC), none before the client's
referral."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from waypoint_progress.domain.errors import InvalidSession
from waypoint_progress.domain.sessions import date_problems, measures_problems, referral_problems
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.standing import ClientStanding

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


REFERRED_ON = date(2026, 3, 2)


def referral(**facts: object) -> SourceEvent:
    """Intake's `client_referred` as progress keeps it, built by hand with the facts given."""
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return SourceEvent("e-1", "intake", "client_referred", "clinic-a", "c-1", at, 1, facts)


@pytest.mark.parametrize("day", [REFERRED_ON, date(2026, 3, 3), TODAY])
def test_a_session_on_or_after_the_referral_day_is_possible(day: date) -> None:
    assert referral_problems(day, REFERRED_ON) == []
    standing = ClientStanding.from_intake("c-1", [referral(referred_on="2026-03-02")])
    standing.ensure_sessions_may_be_recorded(day)


@pytest.mark.parametrize("day", [date(2026, 3, 1), date(2025, 3, 2), date(1900, 1, 1)])
def test_a_session_dated_before_the_referral_is_refused_naming_date(day: date) -> None:
    standing = ClientStanding.from_intake("c-1", [referral(referred_on="2026-03-02")])

    with pytest.raises(InvalidSession) as refused:
        standing.ensure_sessions_may_be_recorded(day)

    assert refused.value.field == "date"
    assert refused.value.problems == ["Must not be before the client's referral on 2026-03-02."]


@pytest.mark.parametrize("facts", [{}, {"referred_on": None}], ids=["v1", "upcast"])
def test_a_referral_without_its_date_sets_no_bound(facts: dict[str, object]) -> None:
    standing = ClientStanding.from_intake("c-1", [referral(**facts)])

    assert standing.referred_on is None
    standing.ensure_sessions_may_be_recorded(date(1900, 1, 1))
