"""Events progress publishes on `waypoint.progress.events` (key = client id; stream per client)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from waypoint_shared.catalog.events.common import (
    INSTRUMENTS,
    PERSONAL,
    Actor,
    ClientEvent,
    EventType,
)


class Measure(Schema):
    """Item scores and totals only: the licensed item texts are never stored."""

    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENTS))
    items = fields.List(fields.Float(), required=True)
    total = fields.Float(required=True)
    band = fields.String(allow_none=True, load_default=None)


class SessionRecordedV1(ClientEvent):
    session_id = fields.UUID(required=True)
    date = fields.Date(required=True)
    attended = fields.Boolean(required=True)
    measures = fields.List(fields.Nested(Measure), load_default=list)
    reflection = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class SessionAmendedV1(ClientEvent):
    """A recorded session's measures corrected: the new measures, scored, replace those it was
    recorded (or last amended) with; the session keeps its id, date and attendance. The reason
    is the clinician's own words about the client's record."""

    session_id = fields.UUID(required=True)
    measures = fields.List(fields.Nested(Measure), required=True)
    reason = fields.String(required=True, metadata=PERSONAL)


class SessionEnteredInErrorV1(ClientEvent):
    """A recorded session that should never have been recorded (another client's, a duplicate):
    it stays in the record, marked, and counts for nothing derived from it."""

    session_id = fields.UUID(required=True)
    reason = fields.String(required=True, metadata=PERSONAL)


class DerivedEntry(ClientEvent):
    """A timeline entry progress derived by a rule from the event (of any service) that
    completed it."""

    rule = fields.String(required=True)
    title = fields.String(required=True)
    source_service = fields.String(required=True)
    source_event_id = fields.UUID(required=True)


class MilestoneReachedV1(DerivedEntry):
    milestone_id = fields.UUID(required=True)
    reached_at = fields.String(required=True)


class AlertRaisedV1(DerivedEntry):
    alert_id = fields.UUID(required=True)
    raised_at = fields.String(required=True)


class AlertAcknowledgedV1(Schema):
    alert_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    acknowledged_by = fields.Nested(Actor, required=True)
    action_taken = fields.String(required=True, metadata=PERSONAL)


# A course's first or last PHQ-9 and GAD-7 totals (None when not scored) and the day of the first
# (or last) of them.
OutcomeScores = Schema.from_dict(
    {
        "PHQ-9": fields.Integer(required=True, allow_none=True),
        "GAD-7": fields.Integer(required=True, allow_none=True),
        "date": fields.Date(required=True, allow_none=True),
    },
    name="OutcomeScores",
)


class CourseOutcomeRecordedV1(ClientEvent):
    """A course's outcome after NHS Talking Therapies, at discharge (docs/progress.md,
    "Outcomes"); recovery and reliable change are None where the PHQ-9/GAD-7 pair is missing."""

    status = fields.String(required=True, validate=validate.OneOf(("so_far", "final")))
    finished_course = fields.Boolean(required=True)
    attended_sessions = fields.Integer(required=True)
    first = fields.Nested(OutcomeScores, required=True)
    last = fields.Nested(OutcomeScores, required=True)
    caseness_at_first = fields.Boolean(required=True, allow_none=True)
    recovery = fields.Boolean(required=True, allow_none=True)
    reliable_improvement = fields.Boolean(required=True, allow_none=True)
    reliable_deterioration = fields.Boolean(required=True, allow_none=True)
    reliable_recovery = fields.Boolean(required=True, allow_none=True)


class MilestoneWithdrawnV1(ClientEvent):
    """A published milestone that the client's facts no longer derive, after a late event (a
    screening administered before the first session, a correction); same id as it was reached.
    The source is the event that had completed it."""

    milestone_id = fields.UUID(required=True)
    rule = fields.String(required=True)
    withdrawn_at = fields.String(required=True)
    source_service = fields.String(required=True)
    source_event_id = fields.UUID(required=True)


EVENT_TYPES = tuple(
    EventType("progress", name, 1, schema)
    for name, schema in (
        ("session_recorded", SessionRecordedV1),
        ("milestone_reached", MilestoneReachedV1),
        ("alert_raised", AlertRaisedV1),
        ("alert_acknowledged", AlertAcknowledgedV1),
        ("course_outcome_recorded", CourseOutcomeRecordedV1),
        ("milestone_withdrawn", MilestoneWithdrawnV1),
        ("session_amended", SessionAmendedV1),
        ("session_entered_in_error", SessionEnteredInErrorV1),
    )
)
