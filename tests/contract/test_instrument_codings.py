"""Goals and progress code each instrument alike: a FHIR Goal's `target.measure` is the very coding
of progress's Observation of that instrument, both from the shared instruments table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask

from waypoint_goals.domain.events import GoalProposed
from waypoint_goals.domain.goal import Goal
from waypoint_goals.entrypoints.fhir.mapping import goal_resource
from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.entrypoints.fhir.observations import observation
from waypoint_shared.catalog.events.goals import target_direction
from waypoint_shared.catalog.instruments import NAMES

CLIENT_ID, SESSION_ID = "5f1c6d5e-0000-4000-8000-000000000001", "s-1"


@pytest.fixture(autouse=True)
def _public_urls() -> Iterator[None]:
    """The FHIR mappings build absolute references from the app's configured public URLs."""
    app = Flask(__name__)
    urls = {s: f"https://{s}.clinic.example" for s in ("intake", "goals", "progress")}
    app.config.update(WAYPOINT_PUBLIC_URL=urls["goals"], WAYPOINT_PUBLIC_URLS=urls)
    with app.app_context():
        yield


def goal_target_measure(instrument: str) -> dict[str, object]:
    target = {"instrument": instrument, "score": 10.0, "direction": target_direction(instrument)}
    proposed = GoalProposed(
        "g-1", CLIENT_ID, "Feel better", "cbt", "high", {"role": "client", "id": "a"}, target=target
    )
    [fhir_target] = goal_resource(Goal.rebuilt("g-1", [proposed]))["target"]
    return dict(fhir_target["measure"])


def observation_code(instrument: str) -> dict[str, object]:
    session = SourceEvent(
        event_id="e-1",
        service="progress",
        name="session_recorded",
        tenant_id="clinic-a",
        client_id=CLIENT_ID,
        occurred_at=datetime(2025, 11, 5, tzinfo=UTC),
        stream_version=1,
        facts={"session_id": SESSION_ID, "date": "2025-11-05"},
    )
    measure = {"instrument": instrument, "total": 10.0, "band": None}
    return dict(observation(CLIENT_ID, session, measure)["code"])


@pytest.mark.parametrize("instrument", NAMES)
def test_a_goals_target_measure_equals_progresss_observation_code(instrument: str) -> None:
    assert goal_target_measure(instrument) == observation_code(instrument)
