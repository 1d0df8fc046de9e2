"""The baseline does not move: change is measured from each instrument's first score (NHS Talking
Therapies), the first intake screening or else the first attended session that scored it; a
re-screen in the middle of treatment never replaces it (docs/progress.md)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial

import pytest
from sqlalchemy import select

from waypoint_progress.adapters.tables import timelines
from waypoint_progress.bootstrap import bootstrap
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.trajectory import Point, trajectory
from waypoint_progress.service_layer.projector import source_event
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import gad7, phq9, types


def screened_then_rescreened(j: JourneyEvents, rescreen: tuple[int, int]) -> list[Envelope]:
    """Screened PHQ-9 20 / GAD-7 15 at intake, sessions improving to 12 / 9, a re-screen on day
    14, a session on day 21 at 13 / 9."""
    return [
        j.screening("PHQ-9", phq9(20)),
        j.screening("GAD-7", gad7(15)),
        j.later(days=7).session(PHQ9=phq9(16), GAD7=gad7(12)),
        j.session(PHQ9=phq9(12), GAD7=gad7(9)),
        j.later(days=7).screening("PHQ-9", phq9(rescreen[0])),
        j.screening("GAD-7", gad7(rescreen[1])),
        j.later(days=7).session(PHQ9=phq9(13), GAD7=gad7(9)),
    ]


def last_point(events: list[Envelope], instrument: str) -> Point:
    return trajectory([source_event(e) for e in events], instrument, Thresholds())[-1]


@pytest.mark.parametrize("rescreen", [(11, 8), (6, 4)], ids=["re-screen 11/8", "re-screen 6/4"])
def test_a_rescreen_mid_treatment_does_not_move_the_baseline(
    journey: type[JourneyEvents], rescreen: tuple[int, int]
) -> None:
    events = screened_then_rescreened(journey(), rescreen)
    assert "reliable_deterioration_so_far" not in types(events)
    day_21 = last_point(events, "PHQ-9")
    assert (day_21.baseline, day_21.change_from_baseline) == (20, -7)
    assert day_21.reliable_improvement and not day_21.reliable_deterioration
    assert last_point(events, "GAD-7").baseline == 15


SessionsOf = Callable[[JourneyEvents], list[Envelope]]
FIRST_SESSION_CASES: list[tuple[str, SessionsOf, float]] = [
    (
        "no screening: the first session",
        lambda j: [j.session(PHQ9=phq9(16)), j.session(PHQ9=phq9(10))],
        16,
    ),
    (
        "a session recorded late but dated first",
        lambda j: [
            j.later(days=7).session(PHQ9=phq9(14)),
            j.session(date="2025-03-05", PHQ9=phq9(20)),
            j.session(PHQ9=phq9(13)),
        ],
        20,
    ),
    (
        "a missed session is no baseline",
        lambda j: [j.session(attended=False, PHQ9=phq9(4)), j.session(PHQ9=phq9(16))],
        16,
    ),
    (
        "only the other instrument screened",
        lambda j: [j.screening("GAD-7", gad7(9)), j.session(PHQ9=phq9(18), GAD7=gad7(9))],
        18,
    ),
]


@pytest.mark.parametrize(
    ("sessions_of", "baseline"),
    [case[1:] for case in FIRST_SESSION_CASES],
    ids=[case[0] for case in FIRST_SESSION_CASES],
)
def test_without_a_screening_the_first_attended_session_by_date_is_the_baseline(
    journey: type[JourneyEvents], sessions_of: SessionsOf, baseline: float
) -> None:
    assert last_point(sessions_of(journey()), "PHQ-9").baseline == baseline


def test_a_first_session_as_baseline_gives_reliable_improvement_and_no_deterioration(
    journey: type[JourneyEvents],
) -> None:
    j = journey()
    events = [
        j.session(PHQ9=phq9(18), GAD7=gad7(6)),
        j.session(PHQ9=phq9(11), GAD7=gad7(6)),
        j.session(PHQ9=phq9(14), GAD7=gad7(6)),
    ]
    assert types(events) == ["reliable_improvement_so_far"]


def test_a_missed_session_before_any_score_has_no_baseline_yet(
    journey: type[JourneyEvents],
) -> None:
    missed = last_point([journey().session(attended=False, PHQ9=phq9(4))], "PHQ-9")
    assert (missed.baseline, missed.change_from_baseline, missed.reliable_change) == (
        None,
        None,
        None,
    )


def test_the_projector_raises_no_deterioration_alert_after_a_rescreen(
    journey: type[JourneyEvents],
) -> None:
    events = screened_then_rescreened(journey(), (6, 4))
    with tempfile.TemporaryDirectory() as var:
        container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": var}))
        for event in events:
            run_in_transaction(container.engine, partial(container.projector.handle, event=event))
        with read(container.engine) as conn:
            stored = conn.execute(select(timelines.c.entries)).scalars().all()
            kinds = [e["type"] for entries in stored for e in entries]
        container.engine.dispose()
    assert "reliable_improvement_so_far" in kinds
    assert "reliable_deterioration_so_far" not in kinds
