"""Clinical dates: the day something happened in the client's care, as opposed to the moment it
was recorded. A clinic may date a referral in the past (a history brought over from a previous
system); it may not date one in the future, nor a screening or a discharge before the referral.

`today` is always the caller's (UTC) day, so these rules stay free of clocks."""

from __future__ import annotations

from datetime import date, timedelta

from waypoint_intake.domain.errors import ContradictsRecord, InvalidRequest

# A screening or discharge may be dated up to a day ahead of UTC (a clinic east of Greenwich).
AHEAD = timedelta(days=1)
ADOLESCENT_FROM, ADULT_FROM = 13, 18


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years of age on `day` (someone born on 29 February turns a year older on 1 March in a
    common year)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def age_group(date_of_birth: date, referred_on: date) -> str:
    """`child` under 13, `adolescent` 13 to 17, `adult` 18 and over, on the referral day."""
    age = age_on(date_of_birth, referred_on)
    if age < ADOLESCENT_FROM:
        return "child"
    return "adolescent" if age < ADULT_FROM else "adult"


def check_referral_date(referred_on: date, date_of_birth: date, today: date) -> None:
    """A referral is dated today or earlier, and not before the client was born."""
    if referred_on > today:
        _refuse("referred_on", "A referral cannot be dated in the future.")
    if referred_on < date_of_birth:
        _refuse("referred_on", "A referral cannot be dated before the client's date of birth.")


def check_birth_date(date_of_birth: date, referred_on: date) -> None:
    """A corrected date of birth keeps the referral on or after it (else 409: the record's
    state)."""
    if date_of_birth > referred_on:
        message = f"Must not be after the referral ({referred_on.isoformat()})."
        raise ContradictsRecord({"date_of_birth": [message]})


def check_care_date(name: str, day: date, referred_on: date | None, today: date) -> None:
    """A date in the client's care (a screening, a discharge) lies between the referral day (else
    409: the record's state) and one day after today; a referral recorded without a date (v1)
    bounds nothing."""
    if referred_on is not None and day < referred_on:
        message = f"Must not be before the referral ({referred_on.isoformat()})."
        raise ContradictsRecord({name: [message]})
    if day > today + AHEAD:
        _refuse(name, "Must not be more than one day after today (UTC).")


def parsed(value: str | None) -> date | None:
    """An ISO date as stored in an event, or None."""
    return date.fromisoformat(value) if value else None


def _refuse(name: str, message: str) -> None:
    raise InvalidRequest({name: [message]})
