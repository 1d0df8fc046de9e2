"""Clinical dates in the client record: the age group on the referral day, and the bounds of the
referral, screening and discharge dates (the caller's day is passed in: no clock)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import pytest

from waypoint_intake.domain.client import Client
from waypoint_intake.domain.clinical_dates import age_group
from waypoint_intake.domain.errors import InvalidRequest

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("born", "referred_on", "group"),
    [
        (date(2014, 1, 1), date(2026, 12, 31), "child"),  # 12 years 364 days
        (date(2014, 12, 5), date(2026, 12, 4), "child"),  # 13 tomorrow
        (date(2013, 12, 4), date(2026, 12, 4), "adolescent"),  # 13 on the referral day
        (date(2008, 12, 5), date(2026, 12, 4), "adolescent"),  # 17 years 364 days
        (date(2008, 12, 4), date(2026, 12, 4), "adult"),  # 18 on the referral day
        (date(1951, 6, 30), date(2026, 12, 4), "adult"),
        (date(2026, 12, 4), date(2026, 12, 4), "child"),  # referred on the day of birth
        (date(2012, 2, 29), date(2025, 2, 28), "child"),  # born 29 Feb: 13 only on 1 March
        (date(2012, 2, 29), date(2025, 3, 1), "adolescent"),
    ],
)
def test_the_age_group_is_the_clients_age_on_the_referral_day(
    born: date, referred_on: date, group: str
) -> None:
    assert age_group(born, referred_on) == group


def referral(born: str = "1992-06-30", **dated: date) -> Client:
    client_id = str(uuid.uuid4())
    event = Client.refer(
        client_id, TODAY, given_name="Amara", family_name="Osei", date_of_birth=born, **dated
    )
    return Client.rebuilt(client_id, [event])


def test_an_undated_referral_is_dated_today_and_carries_the_age_group() -> None:
    client = referral(born="2010-03-01")

    assert client.details["referred_on"] == "2026-12-04"
    assert client.details["age_group"] == "adolescent"


def test_a_referral_dated_in_the_past_brings_a_history_over_with_the_age_group_then() -> None:
    client = referral(born="2010-03-01", referred_on=date(2019, 5, 6))

    assert client.details["referred_on"] == "2019-05-06"
    assert client.details["age_group"] == "child"


@pytest.mark.parametrize(
    ("born", "referred_on", "accepted"),
    [
        ("1992-06-30", TODAY, True),
        ("1992-06-30", date(2026, 12, 5), False),  # tomorrow: in the future
        ("1992-06-30", date(1992, 6, 30), True),  # the day of birth
        ("1992-06-30", date(1992, 6, 29), False),  # before the client was born
    ],
)
def test_a_referral_is_dated_between_the_date_of_birth_and_today(
    born: str, referred_on: date, accepted: bool
) -> None:
    if accepted:
        assert referral(born=born, referred_on=referred_on).details["referred_on"]
        return
    with pytest.raises(InvalidRequest) as refused:
        referral(born=born, referred_on=referred_on)
    assert list(refused.value.errors) == ["referred_on"]


REFERRED_ON = date(2026, 10, 1)
CARE_DATES = [
    (REFERRED_ON, True),  # the referral day
    (date(2026, 9, 30), False),  # the day before the referral
    (TODAY, True),
    (date(2026, 12, 5), True),  # one day ahead of UTC
    (date(2026, 12, 6), False),  # two days ahead
]


STEPS: dict[str, Callable[[Client, date], list[object]]] = {
    "administered_on": lambda client, day: client.record_screening(
        "s-1", "GAD-7", [1] * 7, TODAY, day
    ),
    "discharged_on": lambda client, day: client.discharge("completed_treatment", TODAY, day),
}


@pytest.mark.parametrize("field", sorted(STEPS))
@pytest.mark.parametrize(("day", "accepted"), CARE_DATES)
def test_a_screening_or_a_discharge_is_dated_from_the_referral_to_one_day_after_today(
    field: str, day: date, accepted: bool
) -> None:
    client = referral(referred_on=REFERRED_ON)

    if accepted:
        [recorded] = STEPS[field](client, day)
        assert getattr(recorded, field) == day.isoformat()
        return
    with pytest.raises(InvalidRequest) as refused:
        STEPS[field](client, day)
    assert list(refused.value.errors) == [field]


def test_undated_screenings_and_discharges_are_dated_today() -> None:
    client = referral(referred_on=REFERRED_ON)

    [screened] = client.record_screening("s-1", "GAD-7", [1] * 7, TODAY)
    [discharged] = client.discharge("not_known", TODAY)

    assert screened.administered_on == discharged.discharged_on == "2026-12-04"  # type: ignore[attr-defined]


def test_a_corrected_date_of_birth_moves_the_age_group_on_the_same_referral_day() -> None:
    client = referral(born="2010-03-01", referred_on=date(2023, 3, 1))
    assert client.details["age_group"] == "adolescent"

    [corrected] = client.correct({"date_of_birth": "2010-03-02"})
    client.apply(corrected)

    assert client.details["age_group"] == "child"


def test_a_date_of_birth_cannot_be_corrected_to_after_the_referral_day() -> None:
    client = referral(born="2010-03-01", referred_on=date(2023, 3, 1))

    assert client.correct({"date_of_birth": "2023-03-01"})
    with pytest.raises(InvalidRequest) as refused:
        client.correct({"date_of_birth": "2023-03-02"})
    assert list(refused.value.errors) == ["date_of_birth"]
