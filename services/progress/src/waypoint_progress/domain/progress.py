"""What progress records itself: session check-ins, and milestones and alerts it derives.

Stream per client for sessions and acknowledgements; the milestones and alerts the projection
derives go to a second stream of the client (`derived_stream`) so that the worker's appends never
move the version an integrator sends back in `If-Match`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from waypoint_progress.domain.course import CourseOutcome
from waypoint_progress.domain.errors import (
    AlertNotFound,
    AlreadyAcknowledged,
    InvalidSession,
    SessionEnteredInErrorBefore,
    SessionNotFound,
)
from waypoint_progress.domain.scoring import Score
from waypoint_progress.domain.sessions import measures_problems
from waypoint_progress.domain.values import quick_init

RECORDED, AMENDED, ENTERED_IN_ERROR = "recorded", "amended", "entered_in_error"


def derived_stream(client_id: str) -> str:
    return f"{client_id}/derived"


@dataclass(frozen=True)
class SessionRecorded:
    client_id: str
    session_id: str
    date: str
    attended: bool
    measures: list[dict[str, Any]] = field(default_factory=list)
    reflection: str | None = None


@dataclass(frozen=True)
class SessionAmended:
    """A session's measures corrected, with the clinician's reason (personal)."""

    client_id: str
    session_id: str
    measures: list[dict[str, Any]]
    reason: str


@dataclass(frozen=True)
class SessionEnteredInError:
    """A session that should never have been recorded, with the clinician's reason (personal)."""

    client_id: str
    session_id: str
    reason: str


@quick_init
@dataclass(frozen=True)
class MilestoneReached:
    milestone_id: str
    client_id: str
    rule: str
    title: str
    reached_at: str
    source_service: str
    source_event_id: str


@dataclass(frozen=True)
class MilestoneWithdrawn:
    """A published milestone the client's facts no longer derive (same id as it was reached)."""

    client_id: str
    milestone_id: str
    rule: str
    withdrawn_at: str
    source_service: str
    source_event_id: str


@quick_init
@dataclass(frozen=True)
class AlertRaised:
    alert_id: str
    client_id: str
    rule: str
    title: str
    raised_at: str
    source_service: str
    source_event_id: str


@dataclass(frozen=True)
class AlertAcknowledged:
    alert_id: str
    client_id: str
    acknowledged_by: dict[str, str]
    action_taken: str


@dataclass(frozen=True)
class CourseOutcomeRecorded(CourseOutcome):
    """The course outcome at discharge (`domain/course.py`), as progress publishes it."""

    client_id: str


# Derived events of string fields only, each built by the projector from validated facts: they
# are valid by construction (a unit test holds them to the catalog's validation).
DERIVED_ENTRIES: tuple[type, ...] = (MilestoneReached, AlertRaised, MilestoneWithdrawn)
EVENTS: tuple[type, ...] = (
    SessionRecorded,
    MilestoneReached,
    AlertRaised,
    AlertAcknowledged,
    CourseOutcomeRecorded,
    MilestoneWithdrawn,
    SessionAmended,
    SessionEnteredInError,
)


def scored_measures(scores: list[Score]) -> list[dict[str, Any]]:
    """Measures as events keep them: item scores, totals and bands, never item texts."""
    return [
        {"instrument": s.instrument, "items": list(s.items), "total": s.total, "band": s.band}
        for s in scores
    ]


def session_recorded(
    client_id: str, session_id: str, session: dict[str, Any], scores: list[Score]
) -> SessionRecorded:
    """A check-in with its measures scored: item scores, totals and bands, never item texts."""
    return SessionRecorded(
        client_id,
        session_id,
        session["date"],
        session["attended"],
        scored_measures(scores),
        session.get("reflection"),
    )


@dataclass
class ClientProgress:
    """A client as progress recorded it, rebuilt from both of its streams."""

    client_id: str
    version: int = 0  # of the client's own stream (sessions, acknowledgements)
    sessions: dict[str, SessionRecorded] = field(default_factory=dict)  # as corrected
    statuses: dict[str, str] = field(default_factory=dict)  # recorded | amended | entered_in_error
    alerts: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)

    def apply(self, event: object, own_stream: bool = True) -> None:
        getattr(self, f"_apply_{type(event).__name__}")(event)
        if own_stream:
            self.version += 1

    def _apply_SessionRecorded(self, event: SessionRecorded) -> None:
        self.sessions[event.session_id] = event
        self.statuses[event.session_id] = RECORDED

    def _apply_SessionAmended(self, event: SessionAmended) -> None:
        session = self.sessions[event.session_id]
        self.sessions[event.session_id] = replace(session, measures=event.measures)
        self.statuses[event.session_id] = AMENDED

    def _apply_SessionEnteredInError(self, event: SessionEnteredInError) -> None:
        self.statuses[event.session_id] = ENTERED_IN_ERROR

    def _apply_MilestoneReached(self, event: MilestoneReached) -> None:
        """Milestones need no state here; they are the timeline's."""

    def _apply_MilestoneWithdrawn(self, event: MilestoneWithdrawn) -> None:
        """Nor do withdrawals."""

    def _apply_AlertRaised(self, event: AlertRaised) -> None:
        self.alerts.add(event.alert_id)

    def _apply_AlertAcknowledged(self, event: AlertAcknowledged) -> None:
        self.acknowledged.add(event.alert_id)

    def session(self, session_id: str) -> SessionRecorded:
        if session_id not in self.sessions:
            raise SessionNotFound(session_id)
        return self.sessions[session_id]

    def status(self, session_id: str) -> str:
        """recorded, amended (its measures corrected) or entered_in_error."""
        self.session(session_id)
        return self.statuses[session_id]

    def amend(self, session_id: str, scores: list[Score], reason: str) -> SessionAmended:
        """New measures for a recorded session, not one entered in error; measures only for a
        session the client attended."""
        session = self._correctable(session_id)
        problems = measures_problems(session.attended, scores)
        if problems:
            raise InvalidSession("measures", problems)
        return SessionAmended(self.client_id, session_id, scored_measures(scores), reason)

    def mark_entered_in_error(self, session_id: str, reason: str) -> SessionEnteredInError:
        """Mark a recorded session as never to have been recorded; once."""
        self._correctable(session_id)
        return SessionEnteredInError(self.client_id, session_id, reason)

    def _correctable(self, session_id: str) -> SessionRecorded:
        session = self.session(session_id)
        if self.statuses[session_id] == ENTERED_IN_ERROR:
            raise SessionEnteredInErrorBefore(session_id)
        return session

    def acknowledge(
        self, alert_id: str, by: dict[str, str], action_taken: str
    ) -> AlertAcknowledged:
        if alert_id not in self.alerts:
            raise AlertNotFound(alert_id)
        if alert_id in self.acknowledged:
            raise AlreadyAcknowledged(alert_id)
        return AlertAcknowledged(alert_id, self.client_id, by, action_taken)
