"""Every time a source event has is in UTC, and is written once, as text, for every entry it puts
on the timeline: the stored times are ISO 8601 in UTC, and the sort keys keep the order of the
times they write."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from waypoint_progress.domain.sources import SourceEvent, clinical_time, in_utc

LATER = datetime(2025, 4, 1, tzinfo=UTC)
utc_times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


def event_at(occurred_at: datetime, recorded_at: datetime) -> SourceEvent:
    return SourceEvent(
        "e-1", "progress", "session_recorded", "t", "c", occurred_at, 3, {}, recorded_at
    )


@given(occurred_at=utc_times, recorded_at=utc_times)
def test_the_written_times_are_iso_8601_in_utc(
    occurred_at: datetime, recorded_at: datetime
) -> None:
    written = event_at(occurred_at, recorded_at).written_times

    assert written == (occurred_at.isoformat(), recorded_at.isoformat())
    assert tuple(map(datetime.fromisoformat, written)) == (occurred_at, recorded_at)


@given(occurred_at=utc_times, recorded_at=utc_times)
def test_the_order_key_writes_every_time_to_the_microsecond(
    occurred_at: datetime, recorded_at: datetime
) -> None:
    key = event_at(occurred_at, recorded_at).order_key

    assert key == (
        f"{occurred_at.isoformat(timespec='microseconds')[:26]}"
        f"|{recorded_at.isoformat(timespec='microseconds')[:26]}|2|0000000003"
    )


@given(first=utc_times, second=utc_times)
def test_order_keys_sort_as_the_clinical_times_do(first: datetime, second: datetime) -> None:
    recorded = datetime(2025, 3, 4, tzinfo=UTC)
    keys = (event_at(first, recorded).order_key, event_at(second, recorded).order_key)

    assert (keys[0] < keys[1]) == (first < second)


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    in_new_york = datetime(2025, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=-5)))

    assert event_at(in_new_york, in_new_york).written_times[0] == "2025-03-04T14:30:00+00:00"


@given(moment=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)))
def test_a_time_without_a_zone_is_taken_as_utc_and_a_zoned_one_converted(
    moment: datetime,
) -> None:
    in_paris = moment.replace(tzinfo=timezone(timedelta(hours=1)))

    assert in_utc(moment) == moment.replace(tzinfo=UTC) and in_utc(moment).tzinfo is UTC
    assert in_utc(in_paris) == in_paris and in_utc(in_paris).tzinfo is UTC


def test_a_clinical_date_is_its_day_at_midnight_utc() -> None:
    assert clinical_time("client_referred", {"referred_on": date(2025, 3, 4)}, LATER) == datetime(
        2025, 3, 4, tzinfo=UTC
    )
    assert clinical_time("client_referred", {"referred_on": "2025-03-04"}, LATER) == datetime(
        2025, 3, 4, tzinfo=UTC
    )
