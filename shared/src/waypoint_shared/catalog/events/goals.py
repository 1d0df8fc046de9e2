"""Events goals publishes on `waypoint.goals.events` (key = client id; stream per goal)."""

from __future__ import annotations

import math
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from waypoint_shared.catalog import instruments
from waypoint_shared.catalog.events.common import (
    MODALITIES,
    PERSONAL,
    PRIORITIES,
    EventType,
    Party,
    adding,
)

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


# A target is met by a score at or below it (the instrument improves downwards), or at or above it.
TARGET_DIRECTIONS = {"down": "at_or_below", "up": "at_or_above"}


def target_direction(instrument: str) -> str:
    """The direction of a target on the instrument: its direction of improvement."""
    return TARGET_DIRECTIONS[instruments.instrument(instrument).direction]


def target_problems(target: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a target's score and direction for its instrument, by field."""
    entry = instruments.INSTRUMENTS.get(target.get("instrument", ""))
    if entry is None:
        return {}  # the instrument field's own validation names it
    problems: dict[str, list[str]] = {}
    score = target.get("score")
    if score is not None and not entry.in_range(score):
        problems["score"] = [
            f"{entry.name} target {score:g} is outside the instrument's range "
            f"{entry.minimum:g}..{entry.maximum:g}."
        ]
    direction = target.get("direction")
    if direction is not None and direction != target_direction(entry.name):
        problems["direction"] = [
            f"A {entry.name} target is {target_direction(entry.name)}: "
            "the direction follows from the instrument."
        ]
    return problems


class InstrumentTarget(Schema):
    """A score to reach on an instrument, in the instrument's direction of improvement."""

    instrument = fields.String(required=True, validate=validate.OneOf(instruments.NAMES))
    score = fields.Float(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(TARGET_DIRECTIONS.values()))

    @validates_schema
    def _fits_the_instrument(self, data: dict[str, Any], **_: Any) -> None:
        problems = target_problems(data)
        if problems:
            raise ValidationError(problems)


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


class GoalProposedV2(GoalProposedV1):
    target = fields.Nested(InstrumentTarget, allow_none=True, load_default=None)


class GoalAgreedV1(GoalEvent):
    agreed_by = fields.Nested(Party, required=True)


class GoalAgreedV2(GoalAgreedV1):
    agreed_on = fields.Date(required=True, allow_none=True)  # None: an upcast v1 event


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


class ActionStepCompletedV2(ActionStepCompletedV1):
    completed_on = fields.Date(required=True, allow_none=True)  # None: an upcast v1 event


class GoalCheckedInV1(GoalEvent):
    rating = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    achievement_status = fields.String(required=True, validate=validate.OneOf(ACHIEVEMENT_STATUSES))
    by = fields.Nested(Party, required=True)
    note = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class GoalRevisedV1(GoalEvent):
    reason = fields.String(required=True, metadata=PERSONAL)
    changed_fields = fields.List(fields.String(), required=True)
    changes = fields.Dict(required=True, metadata=PERSONAL)  # {field: {"before", "after"}}


class GoalRevisedV2(GoalRevisedV1):
    """v1's fields; a revised `target` in `changes` has the shape of `InstrumentTarget`."""


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


class GoalTargetMetV1(GoalEvent):
    """A recorded score met the goal's target: recorded once per goal, by goals."""

    instrument = fields.String(required=True, validate=validate.OneOf(instruments.NAMES))
    score = fields.Float(required=True)
    session_id = fields.UUID(required=True)
    met_on = fields.Date(required=True)


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
    EventType("goals", name, version, schema)
    for name, version, schema in (
        ("goal_proposed", 1, GoalProposedV1),
        ("goal_agreed", 1, GoalAgreedV1),
        ("goal_rejected", 1, GoalRejectedV1),
        ("action_step_planned", 1, ActionStepPlannedV1),
        ("action_step_completed", 1, ActionStepCompletedV1),
        ("goal_checked_in", 1, GoalCheckedInV1),
        ("goal_revised", 1, GoalRevisedV1),
        ("action_step_revised", 1, ActionStepRevisedV1),
        ("goal_put_on_hold", 1, GoalPutOnHoldV1),
        ("goal_resumed", 1, GoalResumedV1),
        ("goal_cancelled", 1, GoalCancelledV1),
        ("goal_achieved", 1, GoalAchievedV1),
        ("goal_proposed", 2, GoalProposedV2),
        ("goal_agreed", 2, GoalAgreedV2),
        ("action_step_completed", 2, ActionStepCompletedV2),
        ("goal_revised", 2, GoalRevisedV2),
        ("goal_target_met", 1, GoalTargetMetV1),
        ("staying_well_plan_agreed", 1, StayingWellPlanAgreedV1),
    )
)


def upcast_v1_target(target: Any) -> dict[str, Any] | None:
    """A v1 target `{instrument, below}` as a target in the instrument's direction.

    PHQ-9 and GAD-7 totals are whole numbers, so "below B" is "at or below ceil(B) - 1": the same
    scores meet it ("below 10" becomes "at or below 9"). ORS and SRS improve upwards, which a v1
    target could not say: its number is kept as the score to reach, at or above. The score is
    brought into the instrument's range (v1 accepted "PHQ-9 below 35", which every score meets,
    as does "at or below 27"). A target on an instrument the table does not know becomes None.
    """
    if not isinstance(target, dict) or "below" not in target:
        return target if isinstance(target, dict) else None
    entry = instruments.INSTRUMENTS.get(target.get("instrument", ""))
    if entry is None:
        return None
    below = float(target["below"])
    score = math.ceil(below) - 1 if entry.direction == "down" else below
    score = min(max(score, entry.minimum), entry.maximum)
    return {
        "instrument": entry.name,
        "score": float(score),
        "direction": target_direction(entry.name),
    }


def _goal_proposed_v1(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "waypoint.goals.goal_proposed.v2", {
        **data,
        "target": upcast_v1_target(data.get("target")),
    }


def _goal_revised_v1(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A revised v1 target, before and after, as a target in the instrument's direction; sealed
    changes (a consumer without the key) pass as they are."""
    changes = data.get("changes")
    if isinstance(changes, dict) and isinstance(changes.get("target"), dict):
        target = changes["target"]
        upcast = {k: upcast_v1_target(target.get(k)) for k in ("before", "after")}
        changes = {**changes, "target": upcast}
    return "waypoint.goals.goal_revised.v2", {**data, "changes": changes}


UPCASTERS = {
    "waypoint.goals.goal_proposed.v1": _goal_proposed_v1,
    "waypoint.goals.goal_agreed.v1": adding("waypoint.goals.goal_agreed.v2", "agreed_on"),
    "waypoint.goals.action_step_completed.v1": adding(
        "waypoint.goals.action_step_completed.v2", "completed_on"
    ),
    "waypoint.goals.goal_revised.v1": _goal_revised_v1,
}
