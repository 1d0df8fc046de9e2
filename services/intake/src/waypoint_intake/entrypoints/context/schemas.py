"""Request schemas of cultural context and expectations."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import (
    ActorSchema,
    CulturalContextSchema,
    recorded_by,
)
from waypoint_shared.catalog.events.intake import EXPECTATION_TOPICS


class CulturalContextRequestSchema(CulturalContextSchema):
    """The whole cultural context: a PUT replaces what was recorded before."""

    recorded_by = recorded_by()


class ExpectationsSchema(Schema):
    topics = fields.List(
        fields.String(validate=validate.OneOf(EXPECTATION_TOPICS)),
        required=True,
        validate=validate.Length(min=1, max=len(EXPECTATION_TOPICS)),
    )
    acknowledged_by = fields.Nested(
        ActorSchema, required=True, metadata={"description": "who acknowledged (the actor)"}
    )
    notes = fields.String(validate=validate.Length(max=2000), allow_none=True)
