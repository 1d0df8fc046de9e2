"""Whatever order the same events arrive in, and however they are cut into polls, progress ends
with the same timeline and the same net published milestones: the fold of `milestone_reached`
and `milestone_withdrawn` over the client's derived stream into `{milestone id: (time, rule)}`.
The events include sessions recorded out of date order, a screening recorded before them (which
may still arrive after them: another topic) and one recorded late but administered before the
first session, so that some arrival orders publish a milestone that a later event withdraws or
moves."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import load_settings
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import gad7, phq9
from .test_projection_properties import batches
from .test_withdrawal import Projected, administered

ANY_ARRIVALS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EndState = tuple[list[tuple[Any, ...]], dict[str, tuple[datetime, str]]]


def a_journey_told_out_of_order(journey: type[JourneyEvents]) -> list[Envelope]:
    """A PHQ-9 screening, sessions entered after the fact in shuffled date order, then the
    GAD-7 screening. Without the PHQ-9 screening the 17 March session is a reliable improvement;
    with it and without the GAD-7 screening, the 24 March one; with both, the 17 March one."""
    j, goal = journey(), str(uuid.uuid4())
    return [
        j.referral(),
        j.consent("treatment"),
        j.consent("confidentiality"),
        administered(j.screening("PHQ-9", phq9(12)), "2025-03-05"),
        j.goal_proposed(goal),
        j.goal_agreed(goal),
        j.session(date="2025-03-24", PHQ9=phq9(8), GAD7=gad7(6)),
        j.session(date="2025-03-10", PHQ9=phq9(18), GAD7=gad7(10)),
        j.session(date="2025-03-17", PHQ9=phq9(11), GAD7=gad7(9)),
        administered(j.screening("GAD-7", gad7(14)), "2025-03-05"),
    ]


def end_state(polled: list[list[Envelope]]) -> EndState:
    """The timeline and the net published milestones after projecting the polls in order."""
    with tempfile.TemporaryDirectory() as var:
        container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": var}))
        projected = Projected(container, polled[0][0].client_id).project(*polled)
        state = projected.timeline(), projected.milestones_published()
        container.engine.dispose()
    return state


@st.composite
def arrivals(draw: st.DrawFn, events: list[Envelope]) -> list[Envelope]:
    """Any order of the events, now and then delivering a record a second time."""
    shuffled = draw(st.permutations(events))
    again = draw(st.lists(st.sampled_from(events), max_size=3))
    positions = [draw(st.integers(0, len(shuffled))) for _ in again]
    for event, position in zip(again, positions, strict=True):
        shuffled.insert(position, event)
    return shuffled


@ANY_ARRIVALS
@given(data=st.data())
def test_any_arrival_order_and_batching_ends_with_the_same_timeline_and_net_milestones(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    events = a_journey_told_out_of_order(journey)
    timeline, published = end_state([[e] for e in events])
    polled = data.draw(batches(data.draw(arrivals(events))))

    assert end_state(polled) == (timeline, published)
    assert published == {
        row[0]: (row[3], row[2]) for row in timeline if row[1] == "milestone"
    }  # what is published is what the timeline shows


def test_the_sessions_entered_in_reverse_and_the_screening_last_give_the_date_order(
    journey: type[JourneyEvents],
) -> None:
    events = a_journey_told_out_of_order(journey)

    timeline, published = end_state([[e] for e in reversed(events)])

    assert (timeline, published) == end_state([[e] for e in events])
    sessions = [row for row in timeline if row[2] == "session_recorded"]
    assert [row[3].date().isoformat() for row in sessions] == [
        "2025-03-10",
        "2025-03-17",
        "2025-03-24",
    ]
