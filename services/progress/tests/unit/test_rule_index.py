"""Deriving a timeline asks an event only the rules its name can complete (`rules.rules_for`).
The index must never leave out a rule that would complete: for drawn journeys, in any order of
arrival, every rule the index leaves out of an event completes nothing on it, and the timeline
derived through the index is the one derived by asking every rule of every event."""

from __future__ import annotations

import uuid
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waypoint_progress.domain import rules, timeline
from waypoint_progress.domain.corrections import counts, in_source_order
from waypoint_progress.domain.journey import Journey
from waypoint_progress.domain.rules import ALERTS, MILESTONES, Rule
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import is_journey_event
from waypoint_progress.service_layer.projector import source_event
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

DRAWN = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVERY_RULE = tuple(
    (kind, row, rule)
    for kind, table in (("milestone", MILESTONES), ("alert", ALERTS))
    for row, rule in enumerate(table, start=1)
)
items9 = st.lists(st.integers(0, 3), min_size=9, max_size=9)
items7 = st.lists(st.integers(0, 3), min_size=7, max_size=7)
srs = st.sampled_from([9.5, 9.0, 8.0, 6.0, 3.0]).map(lambda v: [v] * 4)  # alliance both ways


@st.composite
def journeys(draw: st.DrawFn) -> list[Envelope]:
    """A client's journey of drawn steps: screenings, goals and steps, sessions with drawn scores
    (some not attended), corrections, revocations and a discharge."""
    events = JourneyEvents()
    made = [events.referral(), events.consent("treatment"), events.consent("confidentiality")]
    made += [events.screening("PHQ-9", draw(items9)), events.screening("GAD-7", draw(items7))]
    goals: list[str] = []
    proposed: list[str] = []
    steps: list[tuple[str, str]] = []
    unplanned: list[tuple[str, str]] = []
    sessions: list[Envelope] = []
    for step in draw(st.lists(st.integers(0, 9), min_size=8, max_size=30)):
        if step == 0 and proposed and draw(st.booleans()):  # steps may come before it
            made.append(events.goal_agreed(proposed.pop()))
        elif step == 0:
            goals.append(str(uuid.uuid4()))
            proposed.append(goals[-1])
            made.append(events.goal_proposed(goals[-1]))
        elif step == 1 and goals:  # a new step, or one completed before it was planned
            fresh = (draw(st.sampled_from(goals)), str(uuid.uuid4()))
            planned = draw(st.sampled_from([fresh, *unplanned]))
            unplanned = [u for u in unplanned if u != planned]
            steps.append(planned)
            made.append(events.step_planned(*planned))
        elif step == 2 and goals:
            a_planned_one = draw(st.booleans())
            if steps and a_planned_one:
                made.append(events.step_completed(*draw(st.sampled_from(steps))))
            else:
                unplanned.append((draw(st.sampled_from(goals)), str(uuid.uuid4())))
                made.append(events.step_completed(*unplanned[-1]))
        elif step in (3, 4, 5):
            attended, reflection = draw(st.booleans()), draw(st.sampled_from([None, "Better"]))
            sessions.append(
                events.session(
                    attended, reflection, PHQ9=draw(items9), GAD7=draw(items7), SRS=draw(srs)
                )
            )
            made.append(sessions[-1])
            events.later(draw(st.integers(0, 20)))
        elif step == 6 and sessions:
            made.append(events.amendment(draw(st.sampled_from(sessions)), PHQ9=draw(items9)))
        elif step == 7 and sessions:
            made.append(events.entered_in_error(draw(st.sampled_from(sessions))))
        elif step == 8:
            made.append(draw(st.sampled_from([events.assigned, events.intake_completed]))())
        else:
            ends = draw(st.booleans())
            made.append(events.discharge() if ends else events.consent_revoked("treatment"))
    return draw(st.permutations(made))


def every_rule(_name: str) -> tuple[tuple[str, int, Rule], ...]:
    return EVERY_RULE


@DRAWN
@given(events=journeys())
def test_a_rule_left_out_of_an_events_index_completes_nothing_on_it(events: list[Envelope]) -> None:
    journey = Journey(Thresholds())
    for event in in_source_order(map(source_event, events)):
        if not (is_journey_event(event) and counts(event)):
            continue
        journey.take(event)  # as derive has it when it asks the rules
        indexed = {id(rule) for _, _, rule in rules.rules_for(event.name)}
        for _, _, rule in EVERY_RULE:
            if id(rule) not in indexed:
                assert not list(rule.detect(journey, event)), (rule.name, event.name)


@DRAWN
@given(events=journeys())
def test_the_indexed_timeline_is_the_one_of_every_rule(events: list[Envelope]) -> None:
    sources = [source_event(e) for e in events]
    indexed = timeline.derive(sources)
    with mock.patch.object(timeline, "rules_for", every_rule):
        reference = timeline.derive(sources)
    assert [(e.id, e.kind, e.type, e.occurred_at) for e in indexed] == [
        (e.id, e.kind, e.type, e.occurred_at) for e in reference
    ]
    assert any(e.kind != "event" for e in reference)


def test_the_index_keeps_the_tables_order() -> None:
    for name in ("session_recorded", "client_discharged", "goal_agreed", "no_such_event"):
        indexed = rules.rules_for(name)
        assert list(indexed) == [r for r in EVERY_RULE if r in indexed]
    assert [r.name for _, _, r in rules.rules_for("no_such_event")] == ["reliable_recovery"]
