"""What makes a session check-in clinically possible, before it is recorded.

Measures are taken in a session the client attended: a missed session (did not attend) is worth
recording, but carries no scores, and NHS Talking Therapies counts attended sessions only. A
session has taken place, so its date is not after today; a day of slack covers time zones ahead
of UTC. Past dates stay open, back to the client's referral: a clinic enters last month's sessions
today, but no session is held before the client was referred.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

DATE_SLACK = timedelta(days=1)


def measures_problems(attended: bool, measures: Sequence[object]) -> list[str]:
    """What is wrong with a session's measures given its attendance (empty when nothing)."""
    if measures and not attended:
        return ["Measures are taken only in a session the client attended."]
    return []


def date_problems(day: date, today: date) -> list[str]:
    """What is wrong with a session's date, today being the UTC date (empty when nothing)."""
    if day > today + DATE_SLACK:
        return ["Must not be more than one day after today (UTC): a session is recorded once held."]
    return []


def referral_problems(day: date, referred_on: date | None) -> list[str]:
    """What is wrong with a session's date given the client's referral date (None: no bound)."""
    if referred_on is not None and day < referred_on:
        return [f"Must not be before the client's referral on {referred_on.isoformat()}."]
    return []
