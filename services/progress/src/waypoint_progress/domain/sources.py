"""Source events as the projection keeps them: the non-personal facts of every consumed event.

Personal fields never reach progress in the clear; `facts["personal"]` only names those present
(so "first reflection shared" can be told without reading the reflection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SERVICE_RANK = {"intake": 0, "goals": 1, "progress": 2}
DERIVED_TYPES = ("milestone_reached", "alert_raised", "course_outcome_recorded")
# Intake's therapist roster is not a client's journey.
ROSTER_TYPES = (
    "therapist_registered",
    "therapist_updated",
    "client_taken_on",
    "client_handed_over",
)


@dataclass(frozen=True)
class SourceEvent:
    event_id: str
    service: str
    name: str
    tenant_id: str
    client_id: str
    occurred_at: datetime
    stream_version: int
    facts: Mapping[str, Any] = field(default_factory=dict)

    def has_personal(self, name: str) -> bool:
        return name in self.facts.get("personal", ())


def source_order(event: SourceEvent) -> tuple[datetime, int, int, str]:
    """Source order (docs/architecture.md §6): time, then service, then stream version (the event
    id only breaks exact ties)."""
    return (event.occurred_at, SERVICE_RANK[event.service], event.stream_version, event.event_id)


def is_derived(event: SourceEvent) -> bool:
    """Milestones, alerts and course outcomes progress derived itself; projecting them again
    would loop."""
    return event.service == "progress" and event.name in DERIVED_TYPES


def is_roster(event: SourceEvent) -> bool:
    return event.service == "intake" and event.name in ROSTER_TYPES


def is_journey_event(event: SourceEvent) -> bool:
    """Whether the event belongs on a client's timeline."""
    return not is_derived(event) and not is_roster(event)


def measures_of(event: SourceEvent) -> dict[str, Mapping[str, Any]]:
    """The instruments an event scored, by name: a session's measures or an intake screening."""
    if event.name == "screening_recorded":
        return {event.facts["instrument"]: event.facts}
    if event.name == "session_recorded":
        return {m["instrument"]: m for m in event.facts.get("measures", ())}
    return {}
