"""Dates and times the HTTP APIs accept: one set of marshmallow fields for the three services.

Clinical dates (date of birth, session dates, target and due dates) and the times of clinical
facts (a consent's signature, a check-in) lie in the years 1900..2100, as written (a time's own
date, before its offset is applied). `as_of` (the time a state is rebuilt at) and the timeline's
`since`/`until` are written in the years 2000..2100; a time after now reads as now (nothing later
is known yet). Each field's OpenAPI `pattern` states exactly what it accepts: real calendar days
(leap years included), hours 00..23, offsets within a day. Outside, the answer is 422 naming the
field — never an overflow further in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import ValidationError, fields

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)

# Month and day of a date, February 29 left to the leap years.
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
CLINICAL_YEARS = r"(?:19[0-9]{2}|20[0-9]{2}|2100)"
# The last two digits of a leap year that is not a century (00 is a leap year's only as 400s).
LEAP_ENDINGS = r"(?:0[48]|[2468][048]|[13579][26])"
CLINICAL_LEAP_YEARS = rf"(?:19{LEAP_ENDINGS}|20(?:00|{LEAP_ENDINGS}))"
QUERY_YEARS = r"(?:20[0-9]{2}|2100)"
QUERY_LEAP_YEARS = rf"(?:20(?:00|{LEAP_ENDINGS}))"
CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"


def calendar_date(years: str, leap_years: str) -> str:
    """A regular expression (unanchored) of the days of those years: YYYY-MM-DD."""
    return rf"(?:{years}-{_MONTH_DAY}|{leap_years}-02-29)"


def date_pattern(years: str, leap_years: str) -> str:
    return rf"^{calendar_date(years, leap_years)}$"


def time_pattern(years: str, leap_years: str) -> str:
    """RFC 3339 date-time with seconds and an offset, on a day of those years."""
    return rf"^{calendar_date(years, leap_years)}T{CLOCK}{OFFSET}$"


CLINICAL_DATE = date_pattern(CLINICAL_YEARS, CLINICAL_LEAP_YEARS)
CLINICAL_TIME = time_pattern(CLINICAL_YEARS, CLINICAL_LEAP_YEARS)
QUERY_TIME = time_pattern(QUERY_YEARS, QUERY_LEAP_YEARS)


def _written(pattern: str, value: Any, error: str) -> None:
    """Refuse what the pattern does not match, with the field's own message."""
    if isinstance(value, str) and not re.fullmatch(pattern, value, re.ASCII):
        raise ValidationError(error)


class ClinicalDate(fields.Date):
    """A calendar date in the years 1900..2100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day: date = super()._deserialize(value, attr, data, **kwargs)
        _written(CLINICAL_DATE, value, "Must be a date in the years 1900..2100.")
        return day


class ClinicalTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset, written in the years 1900..2100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        _written(CLINICAL_TIME, value, "Must be a time in the years 1900..2100.")
        return moment


def clinical_date(**options: Any) -> fields.Date:
    """A calendar date in the years 1900..2100."""
    return ClinicalDate(**_documented(options, CLINICAL_DATE))


def clinical_time(**options: Any) -> fields.AwareDateTime:
    """An RFC 3339 time with an offset, written in the years 1900..2100."""
    return ClinicalTime(**_documented(options, CLINICAL_TIME))


class QueryTime(fields.AwareDateTime):
    """An RFC 3339 time to read state at, written in the years 2000..2100; after now, now."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        _written(QUERY_TIME, value, "Must be an RFC 3339 time in the years 2000..2100.")
        return min(moment, datetime.now(UTC))


def query_time(**options: Any) -> QueryTime:
    return QueryTime(**_documented(options, QUERY_TIME))


def _documented(options: dict[str, Any], pattern: str) -> dict[str, Any]:
    """The field's options with the pattern in its metadata, so the document states it."""
    return {**options, "metadata": {**options.get("metadata", {}), "pattern": pattern}}
