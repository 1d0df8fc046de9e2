"""Request schema of a goal check-in."""

from typing import Any

from marshmallow import Schema, fields, validate

from waypoint_goals.entrypoints.goals.schemas import TEXT, PartySchema


class WholeNumber(fields.Integer):
    """A JSON integer: 6 or 6.0 (the same number in JSON), never 6.5, "6" or true."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class CheckInSchema(Schema):
    rating = WholeNumber(required=True, strict=True, validate=validate.Range(min=0, max=10))
    note = fields.String(validate=TEXT, allow_none=True, load_default=None)
    by = fields.Nested(PartySchema, required=True)
