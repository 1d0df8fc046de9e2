"""Progress's own metrics: milestones reached and withdrawn on client timelines, counted once
committed."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter

from waypoint_shared.eventstore.store import CommitObserver, InBulk, RecordedEvent

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


def milestone_rule(recorded: RecordedEvent | InBulk) -> tuple[str, str] | None:
    """What counting milestones keeps of an appended event until its transaction commits (a
    rebuild's swap appends its publications in bulk)."""
    if MILESTONE in recorded.type:
        return (MILESTONE, str(recorded.data.get("rule")))
    if WITHDRAWAL in recorded.type:
        return (WITHDRAWAL, str(recorded.data.get("rule")))
    return None


def count_rules(committed: Mapping[tuple[str, str], int]) -> None:
    """Each `milestone_reached` appended (a moved milestone's is counted again) and each
    withdrawal, by rule."""
    for (kind, rule), count in committed.items():
        counter = MILESTONES_REACHED if kind == MILESTONE else MILESTONES_WITHDRAWN
        counter.labels(rule).inc(count)


count_milestones = CommitObserver(milestone_rule, milestone_rule, count_rules)
