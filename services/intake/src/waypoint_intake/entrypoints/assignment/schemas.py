"""Schemas of therapist matching and assignment."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by


class AssignmentSchema(Schema):
    therapist_id = fields.UUID(required=True)
    recorded_by = recorded_by()


class ReasonSchema(Schema):
    rule = fields.String(
        required=True,
        metadata={
            "description": "language, preferred_language, modality, specialty, gender, capacity"
        },
    )
    points = fields.Integer(required=True)
    detail = fields.String(required=True)


class MatchSchema(Schema):
    therapist_id = fields.UUID(required=True)
    name = fields.String(required=True)
    score = fields.Integer(required=True)
    free_places = fields.Integer(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class MatchesQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "the best this many (20 by default, at most 100)"},
    )


class MatchesSchema(Schema):
    client_id = fields.UUID(required=True)
    matches = fields.List(fields.Nested(MatchSchema), required=True)
