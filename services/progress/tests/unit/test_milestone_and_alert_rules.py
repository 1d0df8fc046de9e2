"""Every row of the milestone and alert tables (docs/progress.md), each on its own, through
`derive`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.timeline import Entry, derive, entry_id
from waypoint_progress.service_layer.projector import source_event
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

GOAL, STEP_1, STEP_2, STEP_3 = (str(uuid.uuid4()) for _ in range(4))
PHQ9_0 = [0] * 9
GAD7_0 = [0] * 7


def derived(events: Iterable[Envelope], thresholds: Thresholds | None = None) -> list[Entry]:
    return [e for e in derive([source_event(x) for x in events], thresholds) if e.kind != "event"]


def types(events: Iterable[Envelope], thresholds: Thresholds | None = None) -> list[str]:
    return [e.type for e in derived(events, thresholds)]


def phq9(total: int) -> list[int]:
    items = [0] * 9
    for i in range(total):
        items[i % 8] += 1  # item 9 stays 0: no risk flag
    return items


def gad7(total: int) -> list[int]:
    items = [0] * 7
    for i in range(total):
        items[i % 7] += 1
    return items


def test_a_referral_starts_the_journey(journey: type[JourneyEvents]) -> None:
    j = journey()
    [started] = derived([j.referral()])
    assert started.type == "journey_started"
    assert started.id == entry_id("journey_started", j.tenant, j.client_id, "")


def test_safe_space_needs_both_treatment_and_confidentiality_consents(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    assert types([j.consent("treatment"), j.consent("data_sharing")]) == []
    both = [j.consent("treatment"), j.consent("confidentiality")]
    [safe] = derived(both)
    assert (safe.type, safe.source.event_id) == ("safe_space", both[1].event_id)


def test_a_revoked_consent_does_not_count_towards_safe_space_and_raises_an_alert(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    events = [j.consent("treatment"), j.consent_revoked("treatment"), j.consent("confidentiality")]
    [alert] = derived(events)
    assert (alert.kind, alert.type) == ("alert", "consent_revoked")
    assert alert.id == entry_id("consent_revoked", j.tenant, j.client_id, events[1].event_id)


def test_therapist_assigned_is_matched_and_intake_completed_is_intake_complete(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    assert types([j.assigned(), j.intake_completed()]) == ["matched", "intake_complete"]


def test_the_first_goal_is_the_first_agreed_one_only(journey: type[JourneyEvents]) -> None:
    j = journey()
    other = str(uuid.uuid4())
    events = [j.goal_proposed(GOAL), j.goal_agreed(GOAL), j.goal_agreed(other)]
    [first] = derived(events)
    assert (first.type, first.source.event_id) == ("first_goal", events[1].event_id)


def test_plan_ready_needs_a_step_on_an_agreed_goal_whichever_came_first(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    assert types([j.goal_proposed(GOAL), j.step_planned(GOAL, STEP_1)]) == []
    step_first = [j.step_planned(GOAL, STEP_1), j.goal_agreed(GOAL)]
    assert [e.source.event_id for e in derived(step_first) if e.type == "plan_ready"] == [
        step_first[1].event_id
    ]


def test_every_completed_step_is_a_small_win_of_its_own(journey: type[JourneyEvents]) -> None:
    j = journey()
    events = [j.step_completed(GOAL, STEP_1), j.step_completed(GOAL, STEP_2)]
    wins = [e for e in derived(events) if e.type == "small_win"]
    assert [w.id for w in wins] == [
        entry_id("small_win", j.tenant, j.client_id, STEP_1),
        entry_id("small_win", j.tenant, j.client_id, STEP_2),
    ]


def test_halfway_is_half_the_steps_of_a_goal_with_two_or_more_once_per_goal(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    plan = [j.step_planned(GOAL, s) for s in (STEP_1, STEP_2, STEP_3)]
    one, two, three = (j.step_completed(GOAL, s) for s in (STEP_1, STEP_2, STEP_3))
    assert "halfway" not in types([*plan, one])
    halfway = [e for e in derived([*plan, one, two, three]) if e.type == "halfway"]
    assert [(h.id, h.source.event_id) for h in halfway] == [
        (entry_id("halfway", j.tenant, j.client_id, GOAL), two.event_id)
    ]


def test_a_goal_with_a_single_step_has_no_halfway(journey: type[JourneyEvents]) -> None:
    j = journey()
    assert "halfway" not in types([j.step_planned(GOAL, STEP_1), j.step_completed(GOAL, STEP_1)])


def test_goal_achieved_is_once_per_goal_and_every_revision_adapts_the_plan(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    revision = {"reason": "too much", "changed_fields": ["title"], "changes": {}}
    events = [
        j.goal("goal_revised", GOAL, **revision),
        j.goal("action_step_revised", GOAL, step_id=STEP_1, **revision),
        j.goal("goal_achieved", GOAL),
    ]
    found = derived(events)
    assert [e.type for e in found] == ["plan_adapted", "plan_adapted", "goal_achieved"]
    assert found[0].id == entry_id("plan_adapted", j.tenant, j.client_id, events[0].event_id)
    assert found[2].id == entry_id("goal_achieved", j.tenant, j.client_id, GOAL)


def test_the_first_reflection_is_celebrated_once_without_reading_it(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    events = [j.session(), j.session(reflection="I slept"), j.session(reflection="Better")]
    [first] = derived(events)
    assert (first.type, first.source.event_id) == ("first_reflection", events[1].event_id)


def test_sessions_five_ten_and_twenty_count_attended_sessions_only(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    events = [j.session(attended=False)] + [j.session() for _ in range(20)]
    sessions = [e for e in derived(events) if e.type == "sessions"]
    assert [e.title for e in sessions] == [
        "5 sessions attended",
        "10 sessions attended",
        "20 sessions attended",
    ]
    assert sessions[0].id == entry_id("sessions", j.tenant, j.client_id, "5")
    assert sessions[0].source.event_id == events[5].event_id


def test_srs_of_36_or_more_is_a_strong_alliance_once(journey: type[JourneyEvents]) -> None:
    j = journey()
    assert types([j.session(SRS=[9, 9, 9, 9]), j.session(SRS=[10, 10, 10, 10])]) == [
        "strong_alliance"
    ]


def test_srs_30_is_an_alliance_concern_alert(journey: type[JourneyEvents]) -> None:
    j = journey()
    session = j.session(SRS=[7.5, 7.5, 7.5, 7.5])
    [concern] = derived([session])
    assert (concern.kind, concern.type) == ("alert", "alliance_concern")
    assert concern.id == entry_id("alliance_concern", j.tenant, j.client_id, session.event_id)


def test_phq9_item_9_above_0_is_a_risk_flag_at_a_session_or_a_screening(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    risky = [0, 0, 0, 0, 0, 0, 0, 0, 1]
    at_session, at_screening = j.session(PHQ9=risky), j.screening("PHQ-9", risky)
    flags = derived([at_screening, at_session])
    assert [(f.kind, f.type) for f in flags] == [("alert", "risk_flag")] * 2
    assert {f.source.event_id for f in flags} == {at_session.event_id, at_screening.event_id}
    assert types([j.session(PHQ9=[3, 3, 3, 3, 3, 3, 3, 3, 0])]) == []


def test_a_phq9_drop_of_6_from_the_screening_baseline_is_reliable_improvement_so_far(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    screened = [j.screening("PHQ-9", phq9(16)), j.screening("GAD-7", gad7(6))]
    events = [*screened, j.session(PHQ9=phq9(10), GAD7=gad7(6))]
    [improved] = derived(events)
    assert (improved.type, improved.source.event_id) == (
        "reliable_improvement_so_far",
        events[2].event_id,
    )
    assert improved.title == "Reliable improvement so far on PHQ-9 and GAD-7"
    assert types([*screened, j.session(PHQ9=phq9(11), GAD7=gad7(6))]) == []


def test_a_gad7_drop_of_4_alone_is_reliable_improvement_so_far(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    screened = [j.screening("PHQ-9", phq9(5)), j.screening("GAD-7", gad7(7))]
    assert types([*screened, j.session(PHQ9=phq9(5), GAD7=gad7(3))]) == [
        "reliable_improvement_so_far"
    ]


def test_a_session_with_only_phq9_claims_no_improvement_while_gad7_is_unknown(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    screened = [j.screening("PHQ-9", phq9(16)), j.screening("GAD-7", gad7(12))]
    assert types([*screened, j.session(PHQ9=phq9(4))]) == []
    assert types([j.screening("PHQ-9", phq9(16)), j.session(PHQ9=phq9(10), GAD7=gad7(9))]) == [
        "reliable_improvement_so_far"
    ]


def test_phq9_up_6_with_gad7_down_4_is_neither_improvement_nor_deterioration(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    baselines = [j.screening("PHQ-9", phq9(5)), j.screening("GAD-7", gad7(7))]
    assert types([*baselines, j.session(PHQ9=phq9(11), GAD7=gad7(3))]) == []


def test_a_phq9_rise_of_6_is_a_reliable_deterioration_so_far_alert_every_time(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    events = [j.screening("PHQ-9", phq9(4)), j.session(PHQ9=phq9(10)), j.session(PHQ9=phq9(12))]
    alerts = derived(events)
    assert [(a.kind, a.type) for a in alerts] == [("alert", "reliable_deterioration_so_far")] * 2
    assert alerts[0].id == entry_id(
        "reliable_deterioration_so_far", j.tenant, j.client_id, events[1].event_id
    )


def test_a_session_not_attended_never_counts_towards_a_flag(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    screened = [j.screening("PHQ-9", phq9(4)), j.screening("GAD-7", gad7(3))]
    assert types([*screened, j.session(attended=False, PHQ9=phq9(20), GAD7=gad7(15))]) == []
    high = [j.screening("PHQ-9", phq9(20)), j.screening("GAD-7", gad7(15))]
    assert types([*high, j.session(attended=False, PHQ9=phq9(4), GAD7=gad7(3))]) == []


def test_without_a_screening_the_first_session_is_the_baseline(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    sessions = [j.session(PHQ9=phq9(16), GAD7=gad7(6)), j.session(PHQ9=phq9(10), GAD7=gad7(6))]
    assert types(sessions) == ["reliable_improvement_so_far"]


def test_below_caseness_needs_a_case_at_first_and_both_measures_below_in_one_session(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    baselines = [j.screening("PHQ-9", phq9(12)), j.screening("GAD-7", gad7(9))]
    [below] = derived([*baselines, j.session(PHQ9=phq9(9), GAD7=gad7(7))])
    assert (below.type, below.title) == ("below_caseness", "Below caseness on PHQ-9 and GAD-7")
    assert "below_caseness" not in types([*baselines, j.session(PHQ9=phq9(9))])
    assert "below_caseness" not in types([*baselines, j.session(PHQ9=phq9(9), GAD7=gad7(8))])
    not_a_case = [j.screening("PHQ-9", phq9(9)), j.screening("GAD-7", gad7(7))]
    assert "below_caseness" not in types([*not_a_case, j.session(PHQ9=phq9(2), GAD7=gad7(1))])


def test_the_old_per_session_names_are_gone(journey: type[JourneyEvents]) -> None:
    j = journey()
    baselines = [j.screening("PHQ-9", phq9(16)), j.screening("GAD-7", gad7(12))]
    found = set(types([*baselines, j.session(PHQ9=phq9(4), GAD7=gad7(3))]))
    assert found == {"reliable_improvement_so_far", "below_caseness"}
    assert not found & {"reliable_improvement", "recovery", "reliable_deterioration"}


def test_thresholds_come_from_configuration(journey: type[JourneyEvents]) -> None:
    j = journey()
    events = [j.session(PHQ9=phq9(16), GAD7=gad7(5)), j.session(PHQ9=phq9(12), GAD7=gad7(5))]
    assert types(events) == []
    assert types(events, Thresholds(phq9_reliable_change=4)) == ["reliable_improvement_so_far"]


def test_issue_5_journey_lists_its_milestones_in_order(
    journey: type[JourneyEvents], acceptance_milestones: list[str]
) -> None:
    events = journey().acceptance_journey()
    found = derived(events)
    assert [e.type for e in found] == acceptance_milestones
    assert all(e.occurred_at == e.source.occurred_at for e in found)


def test_a_milestone_takes_the_time_of_the_event_that_completed_it_first_in_source_order(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    other = str(uuid.uuid4())
    early, late = j.goal_agreed(other), j.goal_agreed(GOAL)
    [first] = derived([late, early])
    assert first.occurred_at == early.time
    assert late.time - early.time == timedelta(seconds=1)


def test_roster_and_derived_events_are_not_on_the_timeline(journey: type[JourneyEvents]) -> None:
    j = journey()
    roster = j.make("intake", "client_taken_on", {"therapist_id": str(uuid.uuid4())})
    assert derive([source_event(roster)]) == []


def test_halfway_is_reached_by_a_planning_that_comes_after_a_completion(
    journey: type[JourneyEvents],
) -> None:
    # A step completed on a date counts as 00:00 of that day, so it may precede a planning
    # recorded later that day: the planning that leaves the goal half done completes halfway.
    j = journey()
    events = [
        j.step_planned(GOAL, STEP_1),
        j.step_completed(GOAL, STEP_1),
        planning := j.step_planned(GOAL, STEP_2),
    ]
    halfway = [e for e in derived(events) if e.type == "halfway"]
    assert [e.source.event_id for e in halfway] == [planning.event_id]


def test_a_goal_target_met_is_a_milestone_once_per_goal(journey: type[JourneyEvents]) -> None:
    j = journey()
    met = {"instrument": "ORS", "score": 26.0, "session_id": str(uuid.uuid4())}
    events = [
        j.goal("goal_target_met", GOAL, **met, met_on="2025-03-12"),
        j.goal("goal_target_met", str(uuid.uuid4()), **met, met_on="2025-03-19"),
    ]
    found = [e for e in derived(events) if e.type == "goal_target_met"]
    assert len(found) == 2
    assert found[0].id == entry_id("goal_target_met", j.tenant, j.client_id, GOAL)
    assert found[0].title == "Goal target met"


def test_the_first_staying_well_plan_agreed_is_a_milestone(journey: type[JourneyEvents]) -> None:
    j = journey()
    plan = {
        "warning_signs": ["sleeping badly"],
        "what_helps": ["a walk"],
        "who_to_contact": [{"name": "Sam"}],
        "agreed_by": [{"role": "client", "id": "c-1"}, {"role": "therapist", "id": "t-1"}],
    }
    first = j.make("goals", "staying_well_plan_agreed", plan)
    revised = j.make("goals", "staying_well_plan_agreed", plan)
    found = [e for e in derived([first, revised]) if e.type == "staying_well_plan"]
    assert [e.source.event_id for e in found] == [first.event_id]
