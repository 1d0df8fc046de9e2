"""Request schemas of a goal's lifecycle commands."""

from marshmallow import Schema, fields

from waypoint_goals.entrypoints.goals.schemas import (
    TEXT,
    PartySchema,
    acting_party,
    day_it_happened,
    reason,
)


class AgreementSchema(Schema):
    agreed_by = fields.Nested(PartySchema, required=True)
    agreed_on = day_it_happened("the day the goal was agreed: today (UTC) when left out")


class RejectionSchema(Schema):
    rejected_by = fields.Nested(PartySchema, required=True)
    reason = reason()


class ReasonSchema(Schema):
    reason = reason()
    by = acting_party()


class AchievementSchema(Schema):
    note = fields.String(validate=TEXT, allow_none=True, load_default=None)
    by = acting_party()
