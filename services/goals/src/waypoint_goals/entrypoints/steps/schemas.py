"""Request and response schemas of a goal's action steps."""

from marshmallow import Schema, fields, validate

from waypoint_goals.entrypoints.goals.schemas import (
    TEXT,
    AtLeastOneChange,
    StepSchema,
    acting_party,
    day_it_happened,
    reason,
)
from waypoint_shared.http.ranges import clinical_date


class NewStepSchema(Schema):
    description = fields.String(required=True, validate=TEXT)
    due_date = clinical_date(allow_none=True, load_default=None)
    by = acting_party()


class CompletionSchema(Schema):
    note = fields.String(validate=TEXT, allow_none=True, load_default=None)
    completed_on = day_it_happened("the day the step was completed: today (UTC) when left out")
    by = acting_party()


class StepChangesSchema(AtLeastOneChange):
    """The revisable fields of a step; whether it is completed is not among them."""

    description = fields.String(validate=TEXT)
    due_date = clinical_date(allow_none=True)


class StepRevisionSchema(Schema):
    reason = reason()
    changes = fields.Nested(StepChangesSchema, required=True)
    by = acting_party()


class GoalStepSchema(StepSchema):
    goal_id = fields.UUID(required=True)
    lifecycle_status = fields.String(required=True, validate=validate.Length(max=32))
    version = fields.Integer(required=True, metadata={"description": "the goal's version"})
