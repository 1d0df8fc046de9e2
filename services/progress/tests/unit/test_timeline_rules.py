"""The timeline is a function of the set of source events: ids and times come from the rule, the
client and the source event, and the order from time, service, stream version and kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from waypoint_progress.domain.timeline import (
    MILESTONE_NAMESPACE,
    Entry,
    SourceEvent,
    entries_for,
    is_derived,
)

CLIENT = str(uuid.uuid4())
REFERRED_AT = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)


def source(
    name: str = "client_referred",
    service: str = "intake",
    occurred_at: datetime = REFERRED_AT,
    stream_version: int = 1,
    client_id: str = CLIENT,
) -> SourceEvent:
    return SourceEvent(
        str(uuid.uuid4()), service, name, "clinic-a", client_id, occurred_at, stream_version
    )


def entry(kind: str = "event", **source_changes: Any) -> Entry:
    event = source(**source_changes)
    return Entry(str(uuid.uuid4()), kind, event.name, "title", event.occurred_at, event)


def test_a_referral_is_an_event_entry_and_the_journey_started_milestone() -> None:
    referred = source()

    event, milestone = entries_for(referred)

    assert (event.kind, event.type, event.id) == ("event", "client_referred", referred.event_id)
    assert event.occurred_at == REFERRED_AT
    assert (milestone.kind, milestone.type) == ("milestone", "journey_started")
    assert milestone.id == str(
        uuid.uuid5(MILESTONE_NAMESPACE, f"journey_started:clinic-a:{CLIENT}:")
    )
    assert milestone.occurred_at == REFERRED_AT
    assert milestone.source == referred


def test_the_journey_starts_once_per_client_whichever_referral_event_completes_it() -> None:
    other_client = str(uuid.uuid4())

    [_, first] = entries_for(source())
    [_, redelivered] = entries_for(source())
    [_, theirs] = entries_for(source(client_id=other_client))

    assert first.id == redelivered.id
    assert theirs.id != first.id


def test_the_same_event_projected_twice_yields_identical_entries() -> None:
    referred = source()

    assert entries_for(referred) == entries_for(referred)
    assert [e.sort_key for e in entries_for(referred)] == [
        e.sort_key for e in entries_for(referred)
    ]


def test_an_entry_sorts_by_clinical_then_recorded_time_written_to_the_microsecond() -> None:
    """The stored sort key: times as YYYY-MM-DDTHH:MM:SS.ffffff (zone left out, all UTC), then
    service rank, stream version, kind rank, rule row and id."""
    at = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
    referred = source(occurred_at=at, stream_version=7)

    [event, _] = entries_for(referred)

    assert event.sort_key.split("|")[:5] == [
        "2026-03-01T09:30:00.000000",
        referred.recorded.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "0",
        "0000000007",
        "0",
    ]


def test_an_event_without_a_rule_is_only_an_event_entry() -> None:
    proposed = source("goal_proposed", "goals")

    [only] = entries_for(proposed)

    assert (only.kind, only.id, only.title) == ("event", proposed.event_id, "Goal proposed")


def test_entries_are_ordered_by_time_first() -> None:
    later_intake = entry(service="intake", occurred_at=REFERRED_AT + timedelta(microseconds=1))
    earlier_progress = entry(service="progress", occurred_at=REFERRED_AT)

    assert earlier_progress.sort_key < later_intake.sort_key


def test_at_the_same_time_intake_comes_before_goals_before_progress() -> None:
    by_service = {s: entry(service=s) for s in ("progress", "goals", "intake")}

    ordered = sorted(by_service.values(), key=lambda e: e.sort_key)

    assert [e.source.service for e in ordered] == ["intake", "goals", "progress"]


def test_within_a_service_and_time_the_stream_version_orders_numerically() -> None:
    versions = [entry(stream_version=v) for v in (10, 9, 2, 100, 1)]

    ordered = sorted(versions, key=lambda e: e.sort_key)

    assert [e.source.stream_version for e in ordered] == [1, 2, 9, 10, 100]


def test_for_one_source_event_the_event_comes_before_its_milestone_before_an_alert() -> None:
    referred = source()
    event, milestone = entries_for(referred)
    alert = Entry(str(uuid.uuid4()), "alert", "risk_flag", "Risk flag", REFERRED_AT, referred)

    ordered = sorted([alert, milestone, event], key=lambda e: e.sort_key)

    assert [e.kind for e in ordered] == ["event", "milestone", "alert"]


def test_milestones_and_alerts_progress_derived_itself_are_recognised() -> None:
    assert is_derived(source("milestone_reached", "progress"))
    assert is_derived(source("alert_raised", "progress"))
    assert is_derived(source("milestone_withdrawn", "progress"))
    assert is_derived(source("course_outcome_recorded", "progress"))


def test_source_events_of_other_services_and_kinds_are_not_derived() -> None:
    assert not is_derived(source("client_referred", "intake"))
    assert not is_derived(source("goal_proposed", "goals"))
    assert not is_derived(source("session_checked_in", "progress"))
    assert not is_derived(source("milestone_reached", "goals"))


def test_the_same_client_id_in_two_tenants_reaches_two_different_milestones() -> None:
    referred = source()
    elsewhere = SourceEvent(
        str(uuid.uuid4()), "intake", "client_referred", "clinic-b", CLIENT, REFERRED_AT, 1
    )

    [_, here], [_, there] = entries_for(referred), entries_for(elsewhere)

    assert here.type == there.type == "journey_started"
    assert here.id != there.id
