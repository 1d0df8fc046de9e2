"""What a rebuild publishes at its swap: what the live projector would, a discharged client's
course outcome included, each once."""

from __future__ import annotations

import pytest

from waypoint_progress.bootstrap import Container
from waypoint_progress.service_layer.rebuild import rebuild

from ..conftest import JourneyEvents
from .test_withdrawal import OneRecordAtATime, Projected

GROUP = "waypoint-progress"


def test_a_rebuild_publishes_milestones_and_a_course_outcome_the_live_projector_finds_complete(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    events = [*j.acceptance_journey(), j.session(), j.discharge()]

    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), GROUP)

    projected = Projected(progress, j.client_id)
    published = projected.derived_stream()
    names = [name for _, name, _ in published]
    assert names.count("course_outcome_recorded") == 1
    assert "milestone_reached" in names
    projected.project(events)  # given every event again, the live projector finds nothing owed
    assert projected.derived_stream() == published
    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), GROUP)
    assert projected.derived_stream() == published


def test_a_rebuild_publishes_for_every_client_page_by_page(
    progress: Container, journey: type[JourneyEvents], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("waypoint_progress.service_layer.rebuild.CLIENTS_PER_PAGE", 2)
    journeys = [journey() for _ in range(5)]
    for j in journeys:
        j.acceptance_journey()
    everyone = OneRecordAtATime(journeys[0])
    everyone.records = [r for j in journeys for r in OneRecordAtATime(j).records]

    rebuild(progress.engine, progress.projector, everyone, GROUP)

    streams = [Projected(progress, j.client_id).derived_stream() for j in journeys]
    assert all(any(name == "milestone_reached" for _, name, _ in s) for s in streams)
    assert len({len(s) for s in streams}) == 1  # the same journey publishes the same
