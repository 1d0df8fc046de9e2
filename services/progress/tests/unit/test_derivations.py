"""A kept timeline extended by a client's later events is the timeline of all their facts: for
any arrival order and batching (late events, repeats and corrections included), and whatever
happened to the facts in between."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waypoint_progress.domain import timeline
from waypoint_progress.domain.derivations import Derivations
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.service_layer.projector import source_event
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_projection_properties import batches

THRESHOLDS = Thresholds()
CLIENT = ("clinic-a", "client")
PHQ9_RISK = [1, 1, 1, 1, 1, 1, 1, 1, 1]
MANY_ARRIVALS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def a_long_journey(journey: type[JourneyEvents]) -> list[Envelope]:
    """Acceptance, then sessions and goals over weeks, then discharge."""
    events = journey()
    goal, step = str(uuid.uuid4()), str(uuid.uuid4())
    return [
        *events.acceptance_journey(),
        events.later(7).session(PHQ9=[1] * 9, SRS=[7.0, 7.0, 7.0, 7.0], reflection="Hard week"),
        events.goal_proposed(goal),
        events.goal_agreed(goal),
        events.step_planned(goal, step),
        events.later(7).session(PHQ9=PHQ9_RISK, GAD7=[1] * 7),
        events.step_completed(goal, step),
        events.later(7).session(PHQ9=[0] * 9, GAD7=[0] * 7, SRS=[9.5, 9.5, 9.5, 9.5]),
        events.later(7).session(attended=False),
        events.later(7).session(PHQ9=[0] * 9, GAD7=[0] * 7),
        events.discharge(),
    ]


def a_corrected_journey(journey: type[JourneyEvents]) -> list[Envelope]:
    events = journey()
    rich = events.acceptance_journey()
    risky = events.session(PHQ9=PHQ9_RISK, SRS=[7.0, 7.0, 7.0, 7.0])
    later = events.later(7).session(PHQ9=[1] * 8 + [0], GAD7=[1] * 7)
    return [
        *rich,
        risky,
        later,
        events.later(7).session(PHQ9=[0] * 9),
        events.amendment(risky, PHQ9=[0] * 9, SRS=[9.5, 9.5, 9.5, 9.5]),
        events.entered_in_error(rich[-1]),
    ]


def read_back(envelopes: Sequence[Envelope]) -> list[SourceEvent]:
    """The client's facts as a batch reads them: new objects every time, in no order."""
    return [source_event(e) for e in reversed(envelopes)]


@st.composite
def arrivals(draw: st.DrawFn, envelopes: list[Envelope]) -> list[list[Envelope]]:
    """The events in a drawn order, mostly as recorded, now and then moved or delivered twice,
    cut in batches."""
    order = list(envelopes)
    for _ in range(draw(st.integers(0, 3))):
        moved = order.pop(draw(st.integers(0, len(order) - 1)))
        order.insert(draw(st.integers(0, len(order))), moved)
    for _ in range(draw(st.integers(0, 2))):
        order.insert(draw(st.integers(0, len(order))), draw(st.sampled_from(order)))
    return draw(batches(order))


def each_batch_matches_every_fact(batches: list[list[Envelope]]) -> None:
    derivations, arrived = Derivations(), []
    for batch in batches:
        arrived += batch
        facts = read_back(arrived)

        assert derivations.derive(CLIENT, facts, THRESHOLDS) == timeline.derive(facts, THRESHOLDS)


@MANY_ARRIVALS
@given(data=st.data())
def test_a_long_journey_in_any_arrival_and_batching_gives_the_timeline_of_every_fact(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    each_batch_matches_every_fact(data.draw(arrivals(a_long_journey(journey))))


@MANY_ARRIVALS
@given(data=st.data())
def test_sessions_and_their_corrections_in_any_arrival_give_the_timeline_of_every_fact(
    journey: type[JourneyEvents], data: st.DataObject
) -> None:
    each_batch_matches_every_fact(data.draw(arrivals(a_corrected_journey(journey))))


def test_an_event_after_all_the_others_extends_what_was_kept(
    journey: type[JourneyEvents],
) -> None:
    envelopes = a_long_journey(journey)
    derivations = Derivations()
    before = derivations.derive(CLIENT, read_back(envelopes[:-1]), THRESHOLDS)

    after = derivations.derive(CLIENT, read_back(envelopes), THRESHOLDS)

    assert after == timeline.derive(read_back(envelopes), THRESHOLDS)
    assert after[0] is before[0]  # the kept entry, not one derived again


def test_an_event_entered_late_derives_the_timeline_again(journey: type[JourneyEvents]) -> None:
    envelopes = a_long_journey(journey)
    late = envelopes[3]  # a baseline screening recorded after everything else
    arrived = [e for e in envelopes if e is not late]
    derivations = Derivations()
    before = derivations.derive(CLIENT, read_back(arrived), THRESHOLDS)

    after = derivations.derive(CLIENT, read_back([*arrived, late]), THRESHOLDS)

    assert after == timeline.derive(read_back(envelopes), THRESHOLDS)
    assert after[0] is not before[0]


def test_what_a_rolled_back_batch_folded_is_not_kept(journey: type[JourneyEvents]) -> None:
    envelopes = a_long_journey(journey)
    kept, rolled_back, next_batch = envelopes[:-3], envelopes[-3:-1], envelopes[-1:]
    derivations = Derivations()
    derivations.derive(CLIENT, read_back(kept + rolled_back), THRESHOLDS)  # its commit failed

    after = derivations.derive(CLIENT, read_back(kept + next_batch), THRESHOLDS)

    assert after == timeline.derive(read_back(kept + next_batch), THRESHOLDS)


def test_a_forgotten_client_with_new_facts_gets_only_their_timeline(
    journey: type[JourneyEvents],
) -> None:
    first, again = a_long_journey(journey), journey().acceptance_journey()
    derivations = Derivations()
    derivations.derive(CLIENT, read_back(first), THRESHOLDS)

    # The client was forgotten (an erasure, a rebuild) and new facts came.
    after = derivations.derive(CLIENT, read_back(again), THRESHOLDS)

    assert after == timeline.derive(read_back(again), THRESHOLDS)


def test_other_thresholds_derive_the_timeline_again(journey: type[JourneyEvents]) -> None:
    envelopes = a_long_journey(journey)
    derivations, stricter = Derivations(), Thresholds(phq9_reliable_change=9, srs_alliance=40.0)
    derivations.derive(CLIENT, read_back(envelopes[:-1]), THRESHOLDS)

    after = derivations.derive(CLIENT, read_back(envelopes), stricter)

    assert after == timeline.derive(read_back(envelopes), stricter)


def test_only_the_clients_derived_most_recently_are_kept(journey: type[JourneyEvents]) -> None:
    derivations = Derivations(clients=2)

    for client in ("a", "b", "c"):
        derivations.derive(
            ("clinic-a", client), read_back(journey().acceptance_journey()), THRESHOLDS
        )

    assert len(derivations) == 2


def test_a_client_with_a_short_history_is_derived_and_not_kept(
    journey: type[JourneyEvents],
) -> None:
    derivations, events = Derivations(from_facts=4), journey()
    facts = read_back([events.referral(), events.consent("treatment")])

    assert derivations.derive(CLIENT, facts, THRESHOLDS) == timeline.derive(facts, THRESHOLDS)
    assert len(derivations) == 0
