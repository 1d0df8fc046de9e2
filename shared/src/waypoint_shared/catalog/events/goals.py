"""Events goals publishes on `waypoint.goals.events` (key = client id; stream per goal)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from waypoint_shared.catalog.events.common import MODALITIES, PERSONAL, PRIORITIES, EventType, Party

ACHIEVEMENT_STATUSES = (
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
)


class MeasurableTarget(Schema):
    instrument = fields.String(required=True)
    below = fields.Float(required=True)


class GoalEvent(Schema):
    goal_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)


class GoalProposedV1(GoalEvent):
    title = fields.String(required=True, metadata=PERSONAL)
    description = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    why_it_matters = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    strengths = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    addresses = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    target_date = fields.Date(allow_none=True, load_default=None)
    target = fields.Nested(MeasurableTarget, allow_none=True, load_default=None)
    proposed_by = fields.Nested(Party, required=True)


class GoalAgreedV1(GoalEvent):
    agreed_by = fields.Nested(Party, required=True)


class GoalRejectedV1(GoalEvent):
    rejected_by = fields.Nested(Party, required=True)
    reason = fields.String(required=True, metadata=PERSONAL)


class ActionStepPlannedV1(GoalEvent):
    step_id = fields.UUID(required=True)
    description = fields.String(required=True, metadata=PERSONAL)
    due_date = fields.Date(allow_none=True, load_default=None)


class ActionStepCompletedV1(GoalEvent):
    step_id = fields.UUID(required=True)
    note = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class GoalCheckedInV1(GoalEvent):
    rating = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    achievement_status = fields.String(required=True, validate=validate.OneOf(ACHIEVEMENT_STATUSES))
    by = fields.Nested(Party, required=True)
    note = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class GoalRevisedV1(GoalEvent):
    reason = fields.String(required=True, metadata=PERSONAL)
    changed_fields = fields.List(fields.String(), required=True)
    changes = fields.Dict(required=True, metadata=PERSONAL)  # {field: {"before", "after"}}


class ActionStepRevisedV1(GoalEvent):
    step_id = fields.UUID(required=True)
    reason = fields.String(required=True, metadata=PERSONAL)
    changed_fields = fields.List(fields.String(), required=True)
    changes = fields.Dict(required=True, metadata=PERSONAL)


class GoalStatusChange(GoalEvent):
    reason = fields.String(required=True, metadata=PERSONAL)


class GoalPutOnHoldV1(GoalStatusChange):
    pass


class GoalResumedV1(GoalStatusChange):
    pass


class GoalCancelledV1(GoalStatusChange):
    pass


class GoalAchievedV1(GoalEvent):
    note = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class Contact(Schema):
    """Someone to contact when the warning signs show: a name, and optionally how they relate to
    the client and a phone number (the whole list is sealed, so each item is personal)."""

    name = fields.String(required=True)
    relationship = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class StayingWellPlanAgreedV1(Schema):
    """A client's staying-well plan as client and therapist agreed it; a later one revises it."""

    client_id = fields.UUID(required=True)
    warning_signs = fields.List(fields.String(), required=True, metadata=PERSONAL)
    what_helps = fields.List(fields.String(), required=True, metadata=PERSONAL)
    who_to_contact = fields.List(fields.Nested(Contact), required=True, metadata=PERSONAL)
    agreed_by = fields.List(fields.Nested(Party), required=True)


EVENT_TYPES = tuple(
    EventType("goals", name, 1, schema)
    for name, schema in (
        ("goal_proposed", GoalProposedV1),
        ("goal_agreed", GoalAgreedV1),
        ("goal_rejected", GoalRejectedV1),
        ("action_step_planned", ActionStepPlannedV1),
        ("action_step_completed", ActionStepCompletedV1),
        ("goal_checked_in", GoalCheckedInV1),
        ("goal_revised", GoalRevisedV1),
        ("action_step_revised", ActionStepRevisedV1),
        ("goal_put_on_hold", GoalPutOnHoldV1),
        ("goal_resumed", GoalResumedV1),
        ("goal_cancelled", GoalCancelledV1),
        ("goal_achieved", GoalAchievedV1),
        ("staying_well_plan_agreed", StayingWellPlanAgreedV1),
    )
)
