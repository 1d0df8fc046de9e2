"""The course outcome, NHS Talking Therapies: worked cases, each a client's events in, the outcome
out (docs/progress.md, "Outcomes")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from waypoint_progress.domain.course import course_outcome
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.timeline import Entry, derive
from waypoint_progress.service_layer.projector import source_event
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import gad7, phq9

Events = Callable[[JourneyEvents], list[Envelope]]


def weekly(j: JourneyEvents, *scores: tuple[int, int], attended: bool = True) -> list[Envelope]:
    """One session a week, each scoring PHQ-9 and GAD-7."""
    return [
        j.later(days=7).session(attended=attended, PHQ9=phq9(p), GAD7=gad7(g)) for p, g in scores
    ]


def acceptance(j: JourneyEvents) -> list[Envelope]:
    return [*weekly(j, (16, 13), (12, 9), (8, 6)), j.discharge()]


ACCEPTANCE_OUTCOME = {
    "status": "final",
    "finished_course": True,
    "attended_sessions": 3,
    "first": {"PHQ-9": 16, "GAD-7": 13, "date": "2025-03-12"},
    "last": {"PHQ-9": 8, "GAD-7": 6, "date": "2025-03-26"},
    "caseness_at_first": True,
    "recovery": True,
    "reliable_improvement": True,
    "reliable_deterioration": False,
    "reliable_recovery": True,
}
CASES: list[tuple[str, Events, dict[str, Any]]] = [
    (
        "16/13 → 8/6 over three attended sessions, discharged: a reliable recovery",
        acceptance,
        ACCEPTANCE_OUTCOME,
    ),
    (
        "the same course before discharge: so far, not finished",
        lambda j: weekly(j, (16, 13), (12, 9), (8, 6)),
        {"status": "so_far", "finished_course": False, "recovery": True},
    ),
    (
        "not a case at first (9/7): reliable improvement but no recovery possible",
        lambda j: [*weekly(j, (9, 7), (5, 4), (3, 2)), j.discharge()],
        {
            "caseness_at_first": False,
            "recovery": False,
            "reliable_improvement": True,
            "reliable_recovery": False,
        },
    ),
    (
        "GAD-7 never scored: the pair is missing, the outcome is null",
        lambda j: [
            *[j.later(days=7).session(PHQ9=phq9(p)) for p in (16, 12, 8)],
            j.discharge(),
        ],
        {
            "finished_course": True,
            "first": {"PHQ-9": 16, "GAD-7": None, "date": "2025-03-12"},
            "last": {"PHQ-9": 8, "GAD-7": None, "date": "2025-03-26"},
            "caseness_at_first": None,
            "recovery": None,
            "reliable_improvement": None,
            "reliable_deterioration": None,
            "reliable_recovery": None,
        },
    ),
    (
        "screened only, no session attended: no last score, no outcome",
        lambda j: [j.screening("PHQ-9", phq9(16)), j.screening("GAD-7", gad7(13)), j.discharge()],
        {
            "attended_sessions": 0,
            "finished_course": False,
            "caseness_at_first": True,
            "last": {"PHQ-9": None, "GAD-7": None, "date": None},
            "recovery": None,
        },
    ),
    (
        "a relapse to 22/18 after an in-treatment low of 8/6: no recovery, reliably worse",
        lambda j: [*weekly(j, (16, 13), (8, 6), (22, 18)), j.discharge()],
        {
            "last": {"PHQ-9": 22, "GAD-7": 18, "date": "2025-03-26"},
            "recovery": False,
            "reliable_improvement": False,
            "reliable_deterioration": True,
            "reliable_recovery": False,
        },
    ),
    (
        "only one attended session: not a finished course",
        lambda j: [
            j.screening("PHQ-9", phq9(16)),
            j.screening("GAD-7", gad7(13)),
            *weekly(j, (8, 6)),
            j.discharge(),
        ],
        {"status": "final", "finished_course": False, "attended_sessions": 1, "recovery": True},
    ),
    (
        "a re-screen mid-treatment never moves the first score",
        lambda j: [
            j.screening("PHQ-9", phq9(20)),
            j.screening("GAD-7", gad7(15)),
            *weekly(j, (16, 12)),
            j.later(days=7).screening("PHQ-9", phq9(6)),
            j.screening("GAD-7", gad7(4)),
            *weekly(j, (13, 9)),
            j.discharge(),
        ],
        {
            "first": {"PHQ-9": 20, "GAD-7": 15, "date": "2025-03-04"},
            "last": {"PHQ-9": 13, "GAD-7": 9, "date": "2025-03-26"},
            "reliable_improvement": True,
            "reliable_deterioration": False,
            "recovery": False,
        },
    ),
    (
        "sessions not attended never count, first, last or towards a finished course",
        lambda j: [
            *weekly(j, (4, 3), attended=False),
            *weekly(j, (16, 13)),
            *weekly(j, (2, 1), attended=False),
            j.discharge(),
        ],
        {
            "attended_sessions": 1,
            "finished_course": False,
            "first": {"PHQ-9": 16, "GAD-7": 13, "date": "2025-03-19"},
            "last": {"PHQ-9": 16, "GAD-7": 13, "date": "2025-03-19"},
            "recovery": False,
        },
    ),
    (
        "a session entered late but dated first is the first score",
        lambda j: [
            j.later(days=14).session(PHQ9=phq9(8), GAD7=gad7(6)),
            j.session(date="2025-03-12", PHQ9=phq9(16), GAD7=gad7(13)),
            j.discharge(),
        ],
        {
            "first": {"PHQ-9": 16, "GAD-7": 13, "date": "2025-03-12"},
            "last": {"PHQ-9": 8, "GAD-7": 6, "date": "2025-03-19"},
            "reliable_recovery": True,
        },
    ),
    (
        "each instrument's last score is the last attended session that scored it",
        lambda j: [
            *weekly(j, (16, 13), (9, 7)),
            j.later(days=7).session(PHQ9=phq9(8)),
            j.discharge(),
        ],
        {
            "last": {"PHQ-9": 8, "GAD-7": 7, "date": "2025-03-26"},
            "recovery": True,
            "reliable_recovery": True,
        },
    ),
    (
        "PHQ-9 down 6 with GAD-7 up 4: neither improvement nor deterioration",
        lambda j: [*weekly(j, (16, 6), (10, 10)), j.discharge()],
        {"reliable_improvement": False, "reliable_deterioration": False, "recovery": False},
    ),
]


@pytest.mark.parametrize(
    ("events_of", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_course_outcome_of_a_worked_case(
    journey: type[JourneyEvents], events_of: Events, expected: dict[str, Any]
) -> None:
    events = [source_event(e) for e in events_of(journey())]
    outcome = course_outcome(events, Thresholds()).as_dict()
    assert {k: outcome[k] for k in expected} == expected


def test_the_outcome_is_the_same_whatever_order_the_events_arrive_in(
    journey: type[JourneyEvents],
) -> None:
    events = [source_event(e) for e in acceptance(journey())]
    assert course_outcome(events, Thresholds()) == course_outcome(events[::-1], Thresholds())


def test_the_thresholds_of_the_outcome_come_from_configuration(
    journey: type[JourneyEvents],
) -> None:
    events = [source_event(e) for e in acceptance(journey())]
    strict = Thresholds(phq9_reliable_change=9, gad7_reliable_change=8)
    assert course_outcome(events, strict).reliable_recovery is False
    assert course_outcome(events, strict).recovery is True


def milestones(events: list[Envelope]) -> list[Entry]:
    return [e for e in derive([source_event(x) for x in events]) if e.kind == "milestone"]


def test_the_discharge_of_a_reliably_recovered_course_completes_reliable_recovery(
    journey: type[JourneyEvents],
) -> None:
    events = acceptance(journey())
    [reached] = [m for m in milestones(events) if m.type == "reliable_recovery"]
    assert reached.title == "Reliable recovery (NHS Talking Therapies)"
    assert reached.source.event_id == events[-1].event_id


@pytest.mark.parametrize(
    "scores",
    [((16, 13), (12, 9), (8, 6)), ((16, 13),), ((16, 13), (8, 6), (22, 18))],
    ids=["not discharged", "one session", "relapse after an in-treatment low"],
)
def test_no_reliable_recovery_milestone_without_a_final_reliable_recovery(
    journey: type[JourneyEvents], scores: tuple[tuple[int, int], ...]
) -> None:
    j = journey()
    events = weekly(j, *scores)
    ending = [] if len(scores) == 3 and scores[-1] == (8, 6) else [j.discharge()]
    assert "reliable_recovery" not in [m.type for m in milestones([*events, *ending])]
