"""The milestone timeline: what happened, what to celebrate, what needs care.

The timeline is a function of the SET of source events, never of their arrival order: `derive`
walks them in source order (clinical time, recorded time, service, stream version), each entry's
identity comes from the rule, the tenant, the client and a once-key, and its time from the
clinical time of the event that completed the rule. Order of entries: the source's clinical time,
recorded time, service (intake < goals < progress), stream version, then kind (event < milestone
< alert), then the rule's row in the tables of `rules.py` (docs/architecture.md §6).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from waypoint_progress.domain.corrections import MARKS, counts, in_source_order
from waypoint_progress.domain.ids import name_based
from waypoint_progress.domain.journey import Journey
from waypoint_progress.domain.rules import Rule, rules_for
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import (
    SourceEvent,
    is_derived,
    is_journey_event,
)
from waypoint_progress.domain.values import computed_once, quick_init

__all__ = [
    "MILESTONE_NAMESPACE",
    "Entry",
    "SourceEvent",
    "derive",
    "entries_for",
    "fold",
    "in_timeline_order",
    "is_derived",
]

MILESTONE_NAMESPACE = uuid.UUID("6f0b7a56-2b1e-5a8e-9a53-57a1c4f3e0d1")
KIND_RANK = {"event": 0, "milestone": 1, "alert": 2}


@quick_init
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
    def recorded_at(self) -> datetime:
        """When the event that put the entry on the timeline was recorded."""
        return self.source.recorded

    @computed_once
    def sort_key(self) -> str:
        """Computed once per entry: sorting, publishing and storing each ask for it. Entries of
        one source event share its part (`SourceEvent.order_key`)."""
        return f"{self.source.order_key}|{KIND_RANK[self.kind]}|{self.rule_row:03d}|{self.id}"


# Titles name only non-personal facts; progress cannot read sealed fields anyway.
EVENT_TITLES = {
    "client_referred": "Referred to the clinic",
    "client_details_corrected": "Details corrected",
    "cultural_context_recorded": "Cultural context recorded",
    "consent_granted": "Consent granted: {kind}",
    "consent_revoked": "Consent revoked: {kind}",
    "expectations_acknowledged": "Expectations and boundaries acknowledged",
    "screening_recorded": "Baseline screening: {instrument}",
    "risk_flagged": "Risk flagged at screening",
    "therapist_assigned": "Therapist assigned",
    "intake_completed": "Intake completed",
    "client_discharged": "Discharged",
    "goal_proposed": "Goal proposed",
    "goal_agreed": "Goal agreed",
    "goal_rejected": "Goal rejected",
    "action_step_planned": "Action step planned",
    "action_step_completed": "Action step completed",
    "goal_checked_in": "Goal check-in: {achievement_status}",
    "goal_revised": "Goal revised",
    "action_step_revised": "Action step revised",
    "goal_put_on_hold": "Goal put on hold",
    "goal_resumed": "Goal resumed",
    "goal_cancelled": "Goal cancelled",
    "goal_achieved": "Goal achieved",
    "goal_target_met": "Goal target met: {instrument}",
    "staying_well_plan_agreed": "Staying-well plan agreed",
    "session_recorded": "Session checked in",
    "session_amended": "Session measures amended",
    "session_entered_in_error": "Session marked entered in error",
    "alert_acknowledged": "Alert acknowledged",
}


def entry_id(rule: str, tenant_id: str, client_id: str, once_key: str) -> str:
    """A milestone's or alert's id: the same rule, client and once-key of another tenant is
    another entry (ADR 0006)."""
    return name_based(MILESTONE_NAMESPACE, f"{rule}:{tenant_id}:{client_id}:{once_key}")


# How a corrected session's own entry is marked (`corrections.MARKS`).
CORRECTION_NOTES = {
    MARKS["session_amended"]: " (measures amended)",
    MARKS["session_entered_in_error"]: " (entered in error)",
}


def event_title(event: SourceEvent) -> str:
    template = EVENT_TITLES.get(event.name, event.name.replace("_", " ").capitalize())
    note = CORRECTION_NOTES.get(str(event.facts.get("correction")), "")
    try:
        return template.format_map(event.facts) + note
    except (KeyError, ValueError):
        return template.split(":")[0] + note


def event_entry(event: SourceEvent) -> Entry:
    return Entry(event.event_id, "event", event.name, event_title(event), event.occurred_at, event)


def derive(events: Iterable[SourceEvent], thresholds: Thresholds | None = None) -> list[Entry]:
    """Every entry of a client's timeline from the set of its source events, in timeline order."""
    journey = Journey(thresholds or Thresholds())
    entries: dict[str, Entry] = {}
    fold(journey, entries, in_source_order(events))
    return in_timeline_order(entries)


def fold(journey: Journey, entries: dict[str, Entry], ordered: Iterable[SourceEvent]) -> None:
    """Take source events, in source order, into the journey and the entries so far: each event
    takes its place and completes what it can. A left fold, so folding more events that come
    later onto its result gives what folding them all at once gives."""
    for event in ordered:
        if not is_journey_event(event):
            continue
        entries.setdefault(event.event_id, event_entry(event))
        if not counts(event):
            continue  # a session entered in error: on the timeline, marked, and nothing more
        journey.take(event)
        for kind, row, rule in rules_for(event.name):  # a rule no other event can complete
            for entry in completed(rule, kind, row, journey, event):
                entries.setdefault(entry.id, entry)  # the first completion is the one


def in_timeline_order(entries: dict[str, Entry]) -> list[Entry]:
    return sorted(entries.values(), key=lambda e: e.sort_key)


def completed(rule: Rule, kind: str, row: int, journey: Journey, event: SourceEvent) -> list[Entry]:
    return [
        Entry(
            entry_id(rule.name, event.tenant_id, event.client_id, key),
            kind,
            rule.name,
            rule.title.format(key=key),
            event.occurred_at,
            event,
            row,
        )
        for key in rule.detect(journey, event)
    ]


def entries_for(event: SourceEvent) -> list[Entry]:
    """The entries one source event contributes on its own: itself and what it completes."""
    return derive([event])
