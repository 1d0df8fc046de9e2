"""Goals' v1 events read as v2: dates unknown, a v1 `below` target in the instrument's direction."""

from __future__ import annotations

import pytest

from waypoint_shared import catalog

IDS = {"goal_id": "5f1c6d5e-0000-4000-8000-000000000001", "client_id": "c-1"}


@pytest.mark.parametrize(
    ("v1_target", "v2_target"),
    [
        (
            {"instrument": "PHQ-9", "below": 10.0},
            {"instrument": "PHQ-9", "score": 9.0, "direction": "at_or_below"},
        ),
        (
            {"instrument": "GAD-7", "below": 7.5},
            {"instrument": "GAD-7", "score": 7.0, "direction": "at_or_below"},
        ),
        (
            {
                "instrument": "PHQ-9",
                "below": 35.0,
            },  # every score was below it, as every one is <= 27
            {"instrument": "PHQ-9", "score": 27.0, "direction": "at_or_below"},
        ),
        (
            {"instrument": "ORS", "below": 25.0},
            {"instrument": "ORS", "score": 25.0, "direction": "at_or_above"},
        ),
        (
            {"instrument": "SRS", "below": 36.0},
            {"instrument": "SRS", "score": 36.0, "direction": "at_or_above"},
        ),
        ({"instrument": "WEMWBS", "below": 40.0}, None),
        (None, None),
    ],
)
def test_a_v1_proposal_reads_as_v2_with_its_target_in_the_instruments_direction(
    v1_target: dict[str, object] | None, v2_target: dict[str, object] | None
) -> None:
    event_type, data = catalog.upcast(
        "waypoint.goals.goal_proposed.v1", {**IDS, "title": "Sleep", "target": v1_target}
    )

    assert event_type == "waypoint.goals.goal_proposed.v2"
    assert data["target"] == v2_target


def test_a_v1_agreement_and_step_completion_read_as_v2_with_no_date() -> None:
    agreed = catalog.upcast("waypoint.goals.goal_agreed.v1", {**IDS, "agreed_by": {}})
    completed = catalog.upcast("waypoint.goals.action_step_completed.v1", {**IDS, "step_id": "s"})

    assert agreed == ("waypoint.goals.goal_agreed.v2", {**IDS, "agreed_by": {}, "agreed_on": None})
    assert completed == (
        "waypoint.goals.action_step_completed.v2",
        {**IDS, "step_id": "s", "completed_on": None},
    )


def test_a_v1_revision_of_the_target_reads_as_v2_before_and_after() -> None:
    changes = {
        "title": {"before": "a", "after": "b"},
        "target": {"before": None, "after": {"instrument": "PHQ-9", "below": 10.0}},
    }

    event_type, data = catalog.upcast("waypoint.goals.goal_revised.v1", {**IDS, "changes": changes})

    assert event_type == "waypoint.goals.goal_revised.v2"
    assert data["changes"] == {
        "title": {"before": "a", "after": "b"},
        "target": {
            "before": None,
            "after": {"instrument": "PHQ-9", "score": 9.0, "direction": "at_or_below"},
        },
    }


def test_a_sealed_v1_revision_passes_as_it_is() -> None:
    sealed = {**IDS, "changes": "enc:v2:…", "reason": "enc:v2:…"}

    assert catalog.upcast("waypoint.goals.goal_revised.v1", sealed) == (
        "waypoint.goals.goal_revised.v2",
        sealed,
    )


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"instrument": "PHQ-9", "score": 35, "direction": "at_or_below"}, "score"),
        ({"instrument": "GAD-7", "score": 22, "direction": "at_or_below"}, "score"),
        ({"instrument": "ORS", "score": 40.1, "direction": "at_or_above"}, "score"),
        ({"instrument": "ORS", "score": 25, "direction": "at_or_below"}, "direction"),
    ],
)
def test_a_v2_target_outside_its_instruments_range_or_direction_is_not_a_valid_event(
    target: dict[str, object], field: str
) -> None:
    data = {
        **IDS,
        "client_id": "5f1c6d5e-0000-4000-8000-000000000002",
        "title": "Sleep",
        "modality": "cbt",
        "priority": "high",
        "proposed_by": {"role": "client", "id": "amara"},
        "target": target,
    }
    with pytest.raises(catalog.InvalidEvent, match=field):
        catalog.validate_plain("waypoint.goals.goal_proposed.v2", data)
