"""Source events as the projection keeps them: the non-personal facts of every consumed event.

Personal fields never reach progress in the clear; `facts["personal"]` only names those present
(so "first reflection shared" can be told without reading the reflection).

Each source event has two times (docs/progress.md, "Clinical time and recorded time"): when it
happened clinically (`occurred_at`, from the fact `CLINICAL_FACTS` names, a date-only fact at
00:00 UTC of its day) and when it was recorded (`recorded_at`). An event without such a fact, or
whose fact is missing (upcast v1 events), happened when it was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from waypoint_progress.domain.values import computed_once, quick_init

SERVICE_RANK = {"intake": 0, "goals": 1, "progress": 2}
DERIVED_TYPES = (
    "milestone_reached",
    "milestone_withdrawn",
    "alert_raised",
    "course_outcome_recorded",
)
# Intake's therapist roster is not a client's journey.
ROSTER_TYPES = (
    "therapist_registered",
    "therapist_updated",
    "client_taken_on",
    "client_handed_over",
)

# The fact that says when an event happened clinically, by event name.
CLINICAL_FACTS = {
    "client_referred": "referred_on",
    "screening_recorded": "administered_on",
    "consent_granted": "signed_at",
    "goal_agreed": "agreed_on",
    "action_step_completed": "completed_on",
    "goal_target_met": "met_on",
    "client_discharged": "discharged_on",
    "session_recorded": "date",
}


@quick_init
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
    recorded_at: datetime | None = None  # None: recorded when it happened

    def __post_init__(self) -> None:
        if self.recorded_at is None:
            object.__setattr__(self, "recorded_at", self.occurred_at)

    @property
    def recorded(self) -> datetime:
        """When the event was recorded (never None)."""
        return self.recorded_at or self.occurred_at

    def has_personal(self, name: str) -> bool:
        return name in self.facts.get("personal", ())

    @computed_once
    def written_times(self) -> tuple[str, str]:
        """Its clinical and recorded times as the timeline writes them (`utc_text`), made once:
        every entry the event puts on the timeline is written with them."""
        return utc_text(self.occurred_at), utc_text(self.recorded)

    @computed_once
    def order_key(self) -> str:
        """Source order as text that sorts the same way: clinical time, recorded time (each
        YYYY-MM-DDTHH:MM:SS.ffffff, its zone left out), service, stream version. Every timeline
        entry the event puts on the timeline begins its sort key with it, made once."""
        occurred, recorded = self.written_times
        return (
            f"{_sortable(occurred)}|{_sortable(recorded)}"
            f"|{SERVICE_RANK[self.service]}|{self.stream_version:010d}"
        )


def utc_text(moment: datetime) -> str:
    """A time as the stored timelines and the API write it: ISO 8601 in UTC (a time without a
    zone is taken as UTC), its microseconds left out when they are 0."""
    return in_utc(moment).isoformat()


def _sortable(written: str) -> str:
    """A time as `utc_text` writes it, as `order_key` writes it: YYYY-MM-DDTHH:MM:SS.ffffff, its
    zone left out (its microseconds written even when they are 0)."""
    return written[:26] if written[19] == "." else f"{written[:19]}.000000"


def clinical_time(name: str, facts: Mapping[str, Any], recorded_at: datetime) -> datetime:
    """When an event happened clinically: its clinical fact (a date at 00:00 UTC, a time without
    a zone as UTC), or its recorded time if it has none or the fact is not a date or time."""
    value = facts.get(CLINICAL_FACTS.get(name, ""))
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, 0, 0, 0, 0, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return recorded_at
    else:
        return recorded_at
    return in_utc(moment)


def in_utc(moment: datetime) -> datetime:
    """A time in UTC, one without a zone taken as UTC (`datetime.combine`: `replace(tzinfo=…)`
    costs five times as much, and every consumed event has two times)."""
    if moment.tzinfo is None:
        return datetime.combine(moment, moment.time(), UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def source_order(event: SourceEvent) -> tuple[datetime, datetime, int, int, str]:
    """Source order (docs/architecture.md §6): clinical time, then recorded time, then service,
    then stream version (the event id only breaks exact ties)."""
    return (
        event.occurred_at,
        event.recorded,
        SERVICE_RANK[event.service],
        event.stream_version,
        event.event_id,
    )


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
