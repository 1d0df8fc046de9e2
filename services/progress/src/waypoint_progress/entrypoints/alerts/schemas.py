"""Request and response schemas of the alerts resource."""

from marshmallow import Schema, fields, validate

from waypoint_shared.catalog.events.common import ROLES


class ActorSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class AcknowledgementSchema(Schema):
    acknowledged_by = fields.Nested(ActorSchema, required=True)
    action_taken = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "What was done (personal: sealed at rest)"},
    )


class AcknowledgedSchema(AcknowledgementSchema):
    alert_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    acknowledged_at = fields.String(required=True)
    version = fields.Integer(required=True)
