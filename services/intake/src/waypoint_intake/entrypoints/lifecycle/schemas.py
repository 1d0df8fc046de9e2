"""Request schemas of completion and discharge."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by


class CompletionSchema(Schema):
    recorded_by = recorded_by()


class DischargeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    recorded_by = recorded_by()
