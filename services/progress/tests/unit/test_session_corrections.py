"""A session amended or entered in error: everything derived from the client's facts follows the
session as corrected — the timeline, the milestones published (withdrawn or moved), the outcome —
while alerts once raised stay raised. The domain on source events, and the real projector on
real SQLite."""

from __future__ import annotations

from typing import Any

from waypoint_progress.bootstrap import Container
from waypoint_progress.domain import course, timeline
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.service_layer.projector import source_event
from waypoint_progress.service_layer.rebuild import rebuild
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import gad7, phq9
from .test_withdrawal import IMPROVEMENT, OneRecordAtATime, Projected, day, improvement

PHQ9_RISK = [1, 1, 1, 1, 1, 1, 1, 1, 1]


def derived(*events: Envelope) -> list[timeline.Entry]:
    return timeline.derive([source_event(e) for e in events], Thresholds())


def outcome(*events: Envelope) -> course.CourseOutcome:
    return course.course_outcome([source_event(e) for e in events], Thresholds())


def titles(entries: list[timeline.Entry]) -> list[str]:
    return [e.title for e in entries if e.kind == "event"]


def rules(entries: list[timeline.Entry]) -> list[str]:
    return [e.type for e in entries if e.kind != "event"]


def three_sessions(j: JourneyEvents, first: int, second: int, third: int) -> list[Envelope]:
    """PHQ-9 as given at sessions of 10, 17 and 24 March; GAD-7 7 at each."""
    return [
        j.session(date=day, PHQ9=phq9(score), GAD7=gad7(7))
        for day, score in (("2025-03-10", first), ("2025-03-17", second), ("2025-03-24", third))
    ]


# The domain: the timeline and the outcome of the facts as corrected


def test_an_amended_session_shows_its_new_measures_and_says_it_was_amended(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, _] = j.referral(), three_sessions(j, 18, 11, 17)
    amendment = j.later(30).amendment(second, PHQ9=phq9(16), GAD7=gad7(7))

    entries = derived(referral, first, second, amendment)

    assert titles(entries) == [
        "Referred to the clinic",
        "Session checked in",
        "Session checked in (measures amended)",
        "Session measures amended",
    ]
    assert IMPROVEMENT not in " ".join(rules(entries))  # 16 is only 2 below 18


def test_a_session_and_its_amendment_in_either_order_derive_the_same_timeline(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, _] = j.referral(), three_sessions(j, 18, 11, 17)
    amendment = j.amendment(second, PHQ9=phq9(16), GAD7=gad7(7))

    assert derived(amendment, second, first, referral) == derived(
        referral, first, second, amendment
    )


def test_the_last_amendment_recorded_is_the_one_that_counts(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, _] = j.referral(), three_sessions(j, 18, 16, 17)
    wrong = j.amendment(second, PHQ9=phq9(17), GAD7=gad7(7))
    right = j.amendment(second, PHQ9=phq9(11), GAD7=gad7(7))

    assert outcome(referral, first, second, right, wrong).last["PHQ-9"] == 11


def test_entered_in_error_removes_a_session_from_the_outcome(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, third] = j.referral(), three_sessions(j, 18, 11, 17)
    before = outcome(referral, first, second, third)
    assert (before.attended_sessions, before.last["PHQ-9"]) == (3, 17)

    after = outcome(referral, first, second, third, j.entered_in_error(third))

    assert (after.attended_sessions, after.last["PHQ-9"], after.last["date"]) == (
        2,
        11,
        "2025-03-17",
    )
    assert after.reliable_improvement is True  # 18 → 11


def test_a_first_session_entered_in_error_no_longer_gives_the_first_scores(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, third] = j.referral(), three_sessions(j, 18, 11, 17)

    after = outcome(referral, first, second, third, j.entered_in_error(first))

    assert (after.first["PHQ-9"], after.first["date"]) == (11, "2025-03-17")


def test_a_session_entered_in_error_stays_on_the_timeline_marked_and_completes_nothing(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral = j.referral()
    session = j.session(PHQ9=PHQ9_RISK, SRS=[9.5, 9.5, 9.5, 9.5], reflection="Mine")
    assert rules(derived(referral, session)) == [
        "journey_started",
        "first_reflection",
        "strong_alliance",
        "risk_flag",
    ]

    entries = derived(referral, session, j.later(2).entered_in_error(session))

    assert titles(entries) == [
        "Referred to the clinic",
        "Session checked in (entered in error)",
        "Session marked entered in error",
    ]
    assert rules(entries) == ["journey_started"]


def test_an_amendment_after_an_entry_in_error_changes_nothing(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    referral, [first, second, _] = j.referral(), three_sessions(j, 18, 11, 17)
    in_error = j.entered_in_error(second)
    late = j.amendment(second, PHQ9=phq9(10), GAD7=gad7(7))  # refused by the command; a fold

    assert outcome(referral, first, second, in_error, late) == outcome(
        referral, first, second, in_error
    )


# The projector: what progress publishes follows the corrected facts


def test_amending_the_only_session_that_crossed_reliable_improvement_withdraws_that_milestone(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral, [first, second, _] = j.referral(), three_sessions(j, 18, 11, 17)
    projected = Projected(progress, j.client_id).project([referral, first, second])
    [improved] = improvement(projected.milestones_published())

    projected.project([j.amendment(second, PHQ9=phq9(16), GAD7=gad7(7))])  # 2 below 18

    assert improvement(projected.milestones_published()) == {}
    assert improved not in projected.timeline_milestones()
    [(_, _, withdrawal)] = [e for e in projected.derived_stream() if e[1] == "milestone_withdrawn"]
    assert (withdrawal["milestone_id"], withdrawal["source_event_id"]) == (
        improved,
        second.event_id,
    )


def test_an_amendment_that_moves_the_improvement_to_a_later_session_publishes_it_again(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral, sessions = j.referral(), three_sessions(j, 18, 11, 10)
    projected = Projected(progress, j.client_id).project([referral, *sessions])
    [(improved, (when, _))] = improvement(projected.milestones_published()).items()
    assert when == day("2025-03-17")

    projected.project([j.amendment(sessions[1], PHQ9=phq9(16), GAD7=gad7(7))])

    assert improvement(projected.milestones_published())[improved][0] == day("2025-03-24")
    reached = [e for e in projected.derived_stream() if e[2].get("milestone_id") == improved]
    assert [name for _, name, _ in reached] == ["milestone_reached", "milestone_reached"]
    assert reached[1][2]["source_event_id"] == sessions[2].event_id


def test_an_alert_raised_by_a_session_entered_in_error_stays_raised_but_leaves_the_timeline(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral, session = j.referral(), j.session(PHQ9=PHQ9_RISK)
    projected = Projected(progress, j.client_id).project([referral, session])
    raised = [e for e in projected.derived_stream() if e[1] == "alert_raised"]
    assert [e[2]["rule"] for e in raised] == ["risk_flag"]

    projected.project([j.entered_in_error(session)])

    assert [e for e in projected.derived_stream() if e[1] == "alert_raised"] == raised
    assert [row[1] for row in projected.timeline()] == ["event", "milestone", "event", "event"]


def published_outcomes(projected: Projected) -> list[dict[str, Any]]:
    return [e[2] for e in projected.derived_stream() if e[1] == "course_outcome_recorded"]


def test_amending_a_discharged_clients_last_session_publishes_the_changed_outcome(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral, [first, second, third] = j.referral(), three_sessions(j, 18, 11, 10)
    projected = Projected(progress, j.client_id).project([referral, first, second, third])
    projected.project([j.discharge()])
    [final] = published_outcomes(projected)
    assert final["reliable_improvement"] is True

    projected.project([j.amendment(third, PHQ9=phq9(17), GAD7=gad7(7))])

    assert [o["reliable_improvement"] for o in published_outcomes(projected)] == [True, False]
    assert published_outcomes(projected)[-1]["last"]["PHQ-9"] == 17


def test_a_rebuild_derives_the_corrected_timeline_and_publishes_nothing_more(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral, sessions = j.referral(), three_sessions(j, 18, 11, 10)
    corrections = [
        j.amendment(sessions[1], PHQ9=phq9(16), GAD7=gad7(7)),
        j.entered_in_error(sessions[2]),
    ]
    projected = Projected(progress, j.client_id).project([referral, *sessions], corrections)
    timeline_before, stream = projected.timeline(), projected.derived_stream()
    assert improvement(projected.milestones_published()) == {}

    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), "waypoint-progress")

    assert projected.timeline() == timeline_before
    assert projected.derived_stream() == stream
