"""Request schemas of a goal's lifecycle commands."""

from marshmallow import Schema, fields

from waypoint_goals.entrypoints.goals.schemas import TEXT, PartySchema, acting_party, reason


class AgreementSchema(Schema):
    agreed_by = fields.Nested(PartySchema, required=True)


class RejectionSchema(Schema):
    rejected_by = fields.Nested(PartySchema, required=True)
    reason = reason()


class ReasonSchema(Schema):
    reason = reason()
    by = acting_party()


class AchievementSchema(Schema):
    note = fields.String(validate=TEXT, allow_none=True, load_default=None)
    by = acting_party()
