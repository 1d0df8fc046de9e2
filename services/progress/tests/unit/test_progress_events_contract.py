"""Progress's domain events are the catalog's `waypoint.progress.*` events: same names, same
fields, valid payloads, personal fields sealed, and golden copies unchanged."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from waypoint_progress.domain.progress import (
    EVENTS,
    AlertAcknowledged,
    AlertRaised,
    CourseOutcomeRecorded,
    MilestoneReached,
    SessionAmended,
    SessionEnteredInError,
    SessionRecorded,
)
from waypoint_shared import catalog
from waypoint_shared.catalog import golden
from waypoint_shared.eventstore.repository import event_name

ProgressEvent = (
    SessionRecorded
    | MilestoneReached
    | AlertRaised
    | AlertAcknowledged
    | CourseOutcomeRecorded
    | SessionAmended
    | SessionEnteredInError
)
CLIENT = str(uuid.uuid4())
EXAMPLES: list[ProgressEvent] = [
    SessionRecorded(
        CLIENT,
        str(uuid.uuid4()),
        "2025-03-20",
        True,
        [{"instrument": "PHQ-9", "items": [1] * 9, "total": 9, "band": "mild"}],
        "My words",
    ),
    MilestoneReached(
        str(uuid.uuid4()),
        CLIENT,
        "safe_space",
        "Safe space",
        "2025-03-20T09:00:00+00:00",
        "intake",
        str(uuid.uuid4()),
    ),
    AlertRaised(
        str(uuid.uuid4()),
        CLIENT,
        "risk_flag",
        "Risk flag",
        "2025-03-20T09:00:00+00:00",
        "progress",
        str(uuid.uuid4()),
    ),
    AlertAcknowledged(str(uuid.uuid4()), CLIENT, {"role": "clinician", "id": "dr-1"}, "Called"),
    CourseOutcomeRecorded(
        status="final",
        finished_course=True,
        attended_sessions=3,
        first={"PHQ-9": 16, "GAD-7": 13, "date": "2025-03-11"},
        last={"PHQ-9": 8, "GAD-7": None, "date": "2025-03-25"},
        caseness_at_first=True,
        recovery=None,
        reliable_improvement=None,
        reliable_deterioration=None,
        reliable_recovery=None,
        client_id=CLIENT,
    ),
    SessionAmended(
        CLIENT,
        str(uuid.uuid4()),
        [{"instrument": "PHQ-9", "items": [0] * 9, "total": 0, "band": "minimal"}],
        "Typed the GAD-7 items into the PHQ-9",
    ),
    SessionEnteredInError(CLIENT, str(uuid.uuid4()), "Another client's session"),
]


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda c: c.__name__)
def test_each_domain_event_has_the_fields_of_its_catalog_schema(event_class: type) -> None:
    entry = catalog.latest("progress", event_name(event_class))
    fields = {f.name for f in dataclasses.fields(event_class)}
    assert fields == set(entry.schema._declared_fields)


def test_every_progress_event_of_the_catalog_has_a_domain_event() -> None:
    in_catalog = {t.name for t in catalog.CATALOG.values() if t.service == "progress"}
    assert in_catalog == {event_name(c) for c in EVENTS}


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_what_progress_produces_validates_against_the_catalog(event: ProgressEvent) -> None:
    entry = catalog.latest("progress", event_name(type(event)))
    catalog.validate_plain(entry.type, dataclasses.asdict(event))


def test_reflections_actions_taken_and_reasons_are_personal_and_derived_events_carry_none() -> None:
    personal = {
        t.name: set(t.personal_fields) for t in catalog.CATALOG.values() if t.service == "progress"
    }
    assert personal == {
        "session_recorded": {"reflection"},
        "alert_acknowledged": {"action_taken"},
        "milestone_reached": set(),
        "alert_raised": set(),
        "course_outcome_recorded": set(),
        "milestone_withdrawn": set(),
        "session_amended": {"reason"},
        "session_entered_in_error": {"reason"},
    }


def test_the_progress_golden_copies_match_the_catalog() -> None:
    assert [d for d in golden.compare_golden() if ".progress." in d] == []
