"""Dates and times the HTTP APIs accept: one set of marshmallow fields for the three services.

Clinical dates (date of birth, session dates, target and due dates) and the times of clinical
facts (a consent's signature, a check-in) lie in the years 1900..2100. `as_of` (the time a state
is rebuilt at) and the timeline's `since`/`until` lie between 2000-01-01T00:00Z and one day after
now. Outside, the answer is 422 naming the field — never an overflow further in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2101, 1, 1, tzinfo=UTC)
EARLIEST_AS_OF = datetime(2000, 1, 1, tzinfo=UTC)
AS_OF_AHEAD = timedelta(days=1)


def clinical_date(**options: Any) -> fields.Date:
    """A calendar date in the years 1900..2100."""
    between = validate.Range(
        min=EARLIEST_DATE, max=LATEST_DATE, error="Must be a date in the years 1900..2100."
    )
    return fields.Date(validate=between, **options)


def clinical_time(**options: Any) -> fields.AwareDateTime:
    """An RFC 3339 time with an offset, in the years 1900..2100."""
    between = validate.Range(
        min=EARLIEST_TIME,
        max=LATEST_TIME,
        max_inclusive=False,
        error="Must be a time in the years 1900..2100.",
    )
    return fields.AwareDateTime(validate=between, **options)


class QueryTime(fields.AwareDateTime):
    """An RFC 3339 time to read state at: from 2000-01-01T00:00Z to one day after now."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_AS_OF <= moment <= datetime.now(UTC) + AS_OF_AHEAD:
            raise ValidationError("Must be a time from 2000-01-01T00:00:00Z to one day after now.")
        return moment


def query_time(**options: Any) -> QueryTime:
    return QueryTime(**options)
