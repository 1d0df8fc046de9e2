"""Progress's own metric: milestones reached on client timelines, counted once committed."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from waypoint_shared.eventstore.store import RecordedEvent

MILESTONES_REACHED = Counter(
    "waypoint_milestones_reached_total", "Milestones reached on client timelines, by rule", ["rule"]
)
MILESTONE = ".milestone_reached.v"  # any version of the milestone_reached event


def count_milestones(committed: Sequence[RecordedEvent]) -> None:
    for recorded in committed:
        if MILESTONE in recorded.type:
            MILESTONES_REACHED.labels(str(recorded.data.get("rule"))).inc()
