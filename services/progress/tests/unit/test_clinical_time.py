"""The timeline runs in clinical time: each event at the moment its fact says it happened (a
session's date, a screening's administration, a consent's signing…), then by the time it was
recorded. The facts are built by hand here, as the events' newer versions will carry them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, clinical_time, source_order
from waypoint_progress.domain.timeline import derive
from waypoint_progress.domain.trajectory import trajectory

CLIENT = str(uuid.uuid4())
RECORDED = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def fact(
    name: str,
    recorded_at: datetime = RECORDED,
    service: str = "intake",
    version: int = 1,
    **facts: Any,
) -> SourceEvent:
    """A kept fact whose clinical time comes from its facts, as the projector keeps it."""
    return SourceEvent(
        str(uuid.uuid4()),
        service,
        name,
        "clinic-a",
        CLIENT,
        clinical_time(name, facts, recorded_at),
        version,
        facts,
        recorded_at,
    )


def session(day: str, recorded_at: datetime, version: int, **facts: Any) -> SourceEvent:
    data = {"session_id": str(uuid.uuid4()), "date": day, "attended": True, "measures": []}
    return fact("session_recorded", recorded_at, "progress", version, **data, **facts)


def test_a_session_dated_3_january_entered_after_one_dated_10_january_sorts_first() -> None:
    tenth = session("2025-01-10", RECORDED, version=1)
    third = session("2025-01-03", RECORDED + timedelta(minutes=5), version=2)

    assert sorted([tenth, third], key=source_order) == [third, tenth]
    assert [e.source for e in derive([tenth, third]) if e.kind == "event"] == [third, tenth]


def test_a_date_only_clinical_fact_counts_as_midnight_utc_of_that_day() -> None:
    assert session("2025-01-03", RECORDED, 1).occurred_at == datetime(2025, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "facts"),
    [
        ("client_referred", {"referred_on": "2025-01-02"}),
        ("screening_recorded", {"administered_on": "2025-01-02"}),
        ("consent_granted", {"signed_at": "2025-01-02"}),
        ("goal_agreed", {"agreed_on": "2025-01-02"}),
        ("action_step_completed", {"completed_on": "2025-01-02"}),
        ("goal_target_met", {"met_on": "2025-01-02"}),
        ("client_discharged", {"discharged_on": "2025-01-02"}),
        ("session_recorded", {"date": "2025-01-02"}),
    ],
)
def test_each_clinical_fact_names_when_its_event_happened(name: str, facts: dict[str, Any]) -> None:
    assert clinical_time(name, facts, RECORDED) == datetime(2025, 1, 2, tzinfo=UTC)


def test_a_clinical_time_with_a_zone_is_taken_in_utc_and_one_without_as_utc() -> None:
    signed = {"signed_at": "2025-01-02T10:00:00+02:00"}
    assert clinical_time("consent_granted", signed, RECORDED) == datetime(2025, 1, 2, 8, tzinfo=UTC)
    naive = {"signed_at": "2025-01-02T10:00:00"}
    assert clinical_time("consent_granted", naive, RECORDED) == datetime(2025, 1, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "facts"),
    [
        ("client_referred", {"referred_on": None}),  # a v1 event upcast
        ("screening_recorded", {}),  # a v1 event as it was
        ("consent_granted", {"signed_at": "last week"}),  # not a time
        ("therapist_assigned", {"therapist_id": "t-1"}),  # no clinical fact
    ],
)
def test_an_event_without_its_clinical_fact_happened_when_it_was_recorded(
    name: str, facts: dict[str, Any]
) -> None:
    assert clinical_time(name, facts, RECORDED) == RECORDED


def test_events_of_the_same_clinical_time_fall_back_to_the_time_they_were_recorded() -> None:
    later = session("2025-01-10", RECORDED + timedelta(hours=1), version=1)
    earlier = session("2025-01-10", RECORDED, version=2)

    assert sorted([later, earlier], key=source_order) == [earlier, later]
    assert [e.source for e in derive([later, earlier]) if e.kind == "event"] == [earlier, later]


def test_recorded_time_comes_before_service_and_stream_version_in_the_order() -> None:
    screening = fact(
        "screening_recorded",
        RECORDED + timedelta(hours=1),
        administered_on="2025-01-10",
        instrument="GAD-7",
        total=3,
        items=[0, 0, 0, 1, 1, 1, 0],
    )
    sitting = session("2025-01-10", RECORDED, version=9)

    assert sorted([screening, sitting], key=source_order) == [sitting, screening]


def test_a_milestone_happens_at_the_clinical_time_of_the_event_that_completed_it() -> None:
    referral = fact("client_referred", RECORDED, referred_on="2024-11-05")

    [started] = [e for e in derive([referral]) if e.kind == "milestone"]

    assert started.occurred_at == datetime(2024, 11, 5, tzinfo=UTC)
    assert started.recorded_at == RECORDED


def test_a_measured_point_keeps_its_clinical_date_and_the_time_it_was_recorded() -> None:
    screening = fact(
        "screening_recorded",
        RECORDED,
        administered_on="2025-01-02",
        instrument="GAD-7",
        total=3,
        items=[0, 0, 0, 1, 1, 1, 0],
    )

    [point] = trajectory([screening], "GAD-7", Thresholds())

    assert (point.date, point.recorded_at) == ("2025-01-02", RECORDED)
