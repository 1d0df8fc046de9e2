"""The timeline is a function of the SET of source events: the real projector on real SQLite, fed
the same events in many interleavings (each topic keeps its own order, topics interleave freely,
some records arrive twice) always yields the same milestones and alerts, with the same ids, times
and order."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

PHQ9_RISK = [1, 1, 1, 1, 1, 1, 1, 1, 1]
SOME_ARRIVALS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def topics_of(events: Iterable[Envelope]) -> list[list[Envelope]]:
    """The events as the three topics carry them, each in its own order."""
    by_service: dict[str, list[Envelope]] = {"intake": [], "goals": [], "progress": []}
    for event in events:
        by_service[event.source_service].append(event)
    return list(by_service.values())


@st.composite
def interleavings(draw: st.DrawFn, topics: list[list[Envelope]]) -> list[Envelope]:
    """Merge the topics in a drawn order, now and then delivering a record a second time."""
    positions, merged = [0] * len(topics), []
    while any(p < len(t) for p, t in zip(positions, topics, strict=True)):
        open_topics = [i for i, t in enumerate(topics) if positions[i] < len(t)]
        i = draw(st.sampled_from(open_topics))
        merged.append(topics[i][positions[i]])
        positions[i] += 1
        if draw(st.integers(0, 5)) == 0:
            merged.append(draw(st.sampled_from(merged)))
    return merged


@st.composite
def batches(draw: st.DrawFn, events: list[Envelope]) -> list[list[Envelope]]:
    """The events cut into consecutive batches of drawn sizes, as polls deliver them."""
    cuts, start = [], 0
    while start < len(events):
        size = draw(st.integers(1, 8))
        cuts.append(events[start : start + size])
        start += size
    return cuts


def project(events: Iterable[Envelope]) -> list[tuple[Any, ...]]:
    """The timeline after projecting the events one at a time."""
    return project_in_batches([[e] for e in events])


def project_in_batches(polled: list[list[Envelope]]) -> list[tuple[Any, ...]]:
    with tempfile.TemporaryDirectory() as var:
        container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": var}))
        for batch in polled:
            run_in_transaction(
                container.engine, partial(container.projector.handle_all, events=batch)
            )
        with read(container.engine) as conn:
            stored = conn.execute(select(timelines.c.entries)).scalars().all()
        container.engine.dispose()
    return [(e["id"], e["kind"], e["type"], e["occurred_at"]) for es in stored for e in es]


def a_rich_journey(journey: type[JourneyEvents]) -> list[Envelope]:
    events = journey()
    goal, step = str(uuid.uuid4()), str(uuid.uuid4())
    return [
        *events.acceptance_journey(),
        events.consent_revoked("confidentiality"),
        events.step_planned(goal, step),  # on a goal that is agreed only later
        events.session(PHQ9=PHQ9_RISK, SRS=[7.0, 7.0, 7.0, 7.0], reflection="Hard week"),
        events.goal_proposed(goal),
        events.goal_agreed(goal),
        events.step_completed(goal, step),
    ]


@SOME_ARRIVALS
@given(data=st.data())
def test_any_interleaving_with_duplicates_yields_the_same_timeline(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    events = a_rich_journey(journey)
    reference = project(events)
    # Arrival order is drawn here, after the events (and so their times) are fixed.
    arrival = data.draw(interleavings(topics_of(events)))

    assert project(arrival) == reference
    derived = [r for r in reference if r[1] != "event"]
    assert [r[2] for r in derived if r[1] == "alert"] == [
        "consent_revoked",
        "risk_flag",
        "alliance_concern",
    ]


def test_the_reverse_of_every_topic_order_across_topics_changes_nothing(
    journey: type[JourneyEvents],
) -> None:
    events = a_rich_journey(journey)
    goals_first = [e for t in reversed(topics_of(events)) for e in t]

    assert project(goals_first) == project(events)


@SOME_ARRIVALS
@given(data=st.data())
def test_projecting_whole_batches_yields_the_timeline_of_one_event_at_a_time(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    events = a_rich_journey(journey)
    arrival = data.draw(interleavings(topics_of(events)))
    polled = data.draw(batches(arrival))

    assert project_in_batches(polled) == project(events)


def test_two_clients_in_one_batch_each_get_their_own_timeline(journey: type[JourneyEvents]) -> None:
    first, second = a_rich_journey(journey), a_rich_journey(journey)

    together = project_in_batches([first + second])

    assert sorted(together) == sorted(project(first) + project(second))


def a_corrected_journey(journey: type[JourneyEvents]) -> list[Envelope]:
    """The rich journey, then its risky session amended and its first session entered in error."""
    events = journey()
    rich = [*events.acceptance_journey()]
    risky = events.session(PHQ9=PHQ9_RISK, SRS=[7.0, 7.0, 7.0, 7.0], reflection="Hard week")
    later = events.session(PHQ9=[1] * 8 + [0], GAD7=[1] * 7)
    events.later(10)
    corrections = [
        events.amendment(risky, PHQ9=[0] * 9, SRS=[9.5, 9.5, 9.5, 9.5]),
        events.entered_in_error(rich[-1]),
        events.amendment(later, PHQ9=[2] * 8 + [0], GAD7=[2] * 7),
    ]
    return [*rich, risky, later, *corrections]


@SOME_ARRIVALS
@given(data=st.data())
def test_any_interleaving_and_batching_of_sessions_and_their_corrections_yields_one_timeline(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    events = a_corrected_journey(journey)
    reference = project(events)
    arrival = data.draw(interleavings(topics_of(events)))
    # Corrections may even come before their session: the timeline is a function of the set.
    shuffled = data.draw(st.permutations(arrival))

    assert project_in_batches(data.draw(batches(shuffled))) == reference
    assert "strong_alliance" in [r[2] for r in reference]  # from the amended SRS
