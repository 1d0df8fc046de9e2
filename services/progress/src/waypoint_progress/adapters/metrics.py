"""Progress's own metrics: milestones reached and withdrawn on client timelines, counted once
committed."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from waypoint_shared.eventstore.store import RecordedEvent

MILESTONES_REACHED = Counter(
    "waypoint_milestones_reached_total", "Milestones reached on client timelines, by rule", ["rule"]
)
MILESTONES_WITHDRAWN = Counter(
    "waypoint_milestones_withdrawn_total",
    "Milestones withdrawn from client timelines after a late event, by rule",
    ["rule"],
)
MILESTONE = ".milestone_reached.v"  # any version of the milestone_reached event
WITHDRAWAL = ".milestone_withdrawn.v"


def count_milestones(committed: Sequence[RecordedEvent]) -> None:
    """Each `milestone_reached` appended (a moved milestone's is counted again) and each
    withdrawal."""
    for recorded in committed:
        rule = str(recorded.data.get("rule"))
        if MILESTONE in recorded.type:
            MILESTONES_REACHED.labels(rule).inc()
        elif WITHDRAWAL in recorded.type:
            MILESTONES_WITHDRAWN.labels(rule).inc()
