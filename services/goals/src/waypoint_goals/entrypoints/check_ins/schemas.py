"""Request schema of a goal check-in."""

from marshmallow import Schema, fields, validate

from waypoint_goals.entrypoints.goals.schemas import TEXT, PartySchema


class CheckInSchema(Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10))
    note = fields.String(validate=TEXT, allow_none=True, load_default=None)
    by = fields.Nested(PartySchema, required=True)
