"""Times read back from the database are zoned: SQLite keeps none, and everything stored is UTC."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from waypoint_shared.db.database import stored_utc


@given(moment=st.datetimes())
def test_a_time_without_a_zone_is_read_as_the_same_wall_time_in_utc(moment: datetime) -> None:
    read = stored_utc(moment)

    assert read == moment.replace(tzinfo=UTC)
    assert read.tzinfo is UTC


@given(moment=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])))
def test_a_zoned_time_is_read_as_it_is(moment: datetime) -> None:
    assert stored_utc(moment) is moment
