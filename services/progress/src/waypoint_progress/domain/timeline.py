"""The milestone timeline: what happened, what to celebrate, what needs care.

The timeline is a function of the SET of source events, never of their arrival order: each entry's
identity comes from the rule, the client and a once-key, and its time from the source event.
Order: source time, then service (intake < goals < progress), stream version, kind
(event < milestone < alert), then the rule's row in the tables of DESIGN §7.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

MILESTONE_NAMESPACE = uuid.UUID("6f0b7a56-2b1e-5a8e-9a53-57a1c4f3e0d1")
SERVICE_RANK = {"intake": 0, "goals": 1, "progress": 2}
KIND_RANK = {"event": 0, "milestone": 1, "alert": 2}
DERIVED_TYPES = ("milestone_reached", "alert_raised")


@dataclass(frozen=True)
class SourceEvent:
    event_id: str
    service: str
    name: str
    tenant_id: str
    client_id: str
    occurred_at: datetime
    stream_version: int


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    type: str
    title: str
    occurred_at: datetime
    source: SourceEvent
    rule_row: int = 0

    @property
    def sort_key(self) -> str:
        s = self.source
        return (
            f"{s.occurred_at.strftime('%Y-%m-%dT%H:%M:%S.%f')}|{SERVICE_RANK[s.service]}"
            f"|{s.stream_version:010d}|{KIND_RANK[self.kind]}|{self.rule_row:03d}|{self.id}"
        )


@dataclass(frozen=True)
class Rule:
    """A milestone or alert: its row in the table, and what completes it (None: not this event)."""

    name: str
    title: str
    row: int
    once_key: Callable[[SourceEvent], str | None]


def _on(
    name: str, key: Callable[[SourceEvent], str] = lambda _: ""
) -> Callable[[SourceEvent], str | None]:
    return lambda event: key(event) if event.name == name else None


MILESTONES = (Rule("journey_started", "Journey started", 1, _on("client_referred")),)

EVENT_TITLES = {
    "client_referred": "Referred to the clinic",
    "goal_proposed": "Goal proposed",
}


def entry_id(rule: str, client_id: str, once_key: str) -> str:
    return str(uuid.uuid5(MILESTONE_NAMESPACE, f"{rule}:{client_id}:{once_key}"))


def is_derived(event: SourceEvent) -> bool:
    """Milestones and alerts progress derived itself; projecting them again would loop."""
    return event.service == "progress" and event.name in DERIVED_TYPES


def entries_for(event: SourceEvent) -> list[Entry]:
    """The timeline entries one source event contributes: itself, and what it completes."""
    entries = [
        Entry(
            event.event_id,
            "event",
            event.name,
            EVENT_TITLES.get(event.name, event.name.replace("_", " ").capitalize()),
            event.occurred_at,
            event,
        )
    ]
    for rule in MILESTONES:
        key = rule.once_key(event)
        if key is not None:
            entries.append(
                Entry(
                    entry_id(rule.name, event.client_id, key),
                    "milestone",
                    rule.name,
                    rule.title,
                    event.occurred_at,
                    event,
                    rule.row,
                )
            )
    return entries


@dataclass(frozen=True)
class MilestoneReached:
    milestone_id: str
    client_id: str
    rule: str
    title: str
    reached_at: str
    source_service: str
    source_event_id: str


EVENTS: tuple[type, ...] = (MilestoneReached,)


def milestone_reached(entry: Entry) -> MilestoneReached:
    return MilestoneReached(
        entry.id,
        entry.source.client_id,
        entry.type,
        entry.title,
        entry.occurred_at.isoformat(),
        entry.source.service,
        entry.source.event_id,
    )
