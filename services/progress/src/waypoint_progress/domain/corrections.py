"""A client's facts as their corrections leave them (docs/progress.md, "Amendments").

A recorded session is never edited: a clinician who typed a wrong score records an amendment
(`session_amended`, the new measures) or marks the session entered in error
(`session_entered_in_error`), each a new event with a reason. Everything derived from a client's
facts (timeline, milestones, alerts, outcome, trajectories, FHIR) reads them through `corrected`:

- an amended session carries the measures of its last amendment (in the order progress recorded
  them) and keeps its id, date, attendance and times, so its timeline entry keeps its place; the
  measures of instruments the amendment no longer scores are kept apart (`measures_withdrawn`),
  so the Observations once published for them can say they were entered in error;
- a session entered in error stays among the facts, marked, so its timeline entry says so and the
  milestones once published from it can be withdrawn; it counts for nothing (`counts`);
- the corrections themselves stay too: they are entries of the timeline, at the time they were
  recorded, and complete no rule.

The fold is a function of the set of facts, like the timeline: the arrival order of a session
and its corrections changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from waypoint_progress.domain.sources import SourceEvent, is_journey_event, source_order

AMENDED, ENTERED_IN_ERROR = "session_amended", "session_entered_in_error"
CORRECTIONS = (AMENDED, ENTERED_IN_ERROR)
# What a corrected session's facts say of it (`facts["correction"]`).
MARKS = {AMENDED: "amended", ENTERED_IN_ERROR: "entered_in_error"}


def corrected(events: Iterable[SourceEvent]) -> list[SourceEvent]:
    """Each source event once, every session as its corrections leave it."""
    unique = list({e.event_id: e for e in events}.values())
    last = last_corrections(unique)
    return [_session_as_corrected(e, last) if e.name == "session_recorded" else e for e in unique]


def in_source_order(events: Iterable[SourceEvent]) -> list[SourceEvent]:
    """Each source event once, corrected, in source order."""
    return sorted(corrected(events), key=source_order)


def last_corrections(events: Iterable[SourceEvent]) -> dict[str, SourceEvent]:
    """Per session id, the correction that decides what the session is now: an entry in error
    whenever there is one (nothing comes after it), else the last amendment recorded."""
    last: dict[str, SourceEvent] = {}
    for event in sorted((e for e in events if e.name in CORRECTIONS), key=_recorded_order):
        session_id = str(event.facts["session_id"])
        if session_id not in last or last[session_id].name != ENTERED_IN_ERROR:
            last[session_id] = event
    return last


def _recorded_order(event: SourceEvent) -> tuple[int, str]:
    """Corrections of one client are recorded on its own stream: its versions order them."""
    return event.stream_version, event.event_id


def _session_as_corrected(session: SourceEvent, last: dict[str, SourceEvent]) -> SourceEvent:
    correction = last.get(str(session.facts["session_id"]))
    if correction is None:
        return session
    facts = {
        **session.facts,
        "correction": MARKS[correction.name],
        "corrected_at": correction.recorded.isoformat(),
    }
    if correction.name == AMENDED:
        facts["measures"] = correction.facts["measures"]
        facts["measures_withdrawn"] = _dropped(session.facts["measures"], facts["measures"])
    return replace(session, facts=facts)


def _dropped(before: list[dict[str, object]], after: list[dict[str, object]]) -> list[object]:
    """The measures of instruments an amendment no longer scores: they were recorded in error."""
    kept = {m["instrument"] for m in after}
    return [m for m in before if m["instrument"] not in kept]


def counts(event: SourceEvent) -> bool:
    """Whether the event takes part in what is derived: a journey event, and not a session
    entered in error."""
    return is_journey_event(event) and event.facts.get("correction") != MARKS[ENTERED_IN_ERROR]
