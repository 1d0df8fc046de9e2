"""Request and response schemas of the goals resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_shared.catalog import MODALITIES, PRIORITIES

TEXT = validate.Length(min=1, max=2000)


class PartySchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("client", "therapist")))
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class TargetSchema(Schema):
    instrument = fields.String(
        required=True, validate=validate.OneOf(("PHQ-9", "GAD-7", "ORS", "SRS"))
    )
    below = fields.Float(required=True, validate=validate.Range(min=0, max=40))


class ProposalSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=TEXT, allow_none=True)
    why_it_matters = fields.String(validate=TEXT, allow_none=True)
    strengths = fields.List(
        fields.String(validate=TEXT), validate=validate.Length(max=20), load_default=list
    )
    addresses = fields.List(
        fields.String(validate=TEXT), validate=validate.Length(max=20), load_default=list
    )
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    priority = fields.String(required=True, validate=validate.OneOf(("high", "medium", "low")))
    target_date = fields.Date(allow_none=True)
    target = fields.Nested(TargetSchema, allow_none=True)
    proposed_by = fields.Nested(PartySchema, required=True)


class GoalSchema(ProposalSchema):
    goal_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    lifecycle_status = fields.String(required=True)
    version = fields.Integer(required=True)
    target_date = fields.String(allow_none=True)
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))


class AsOfSchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = fields.AwareDateTime(metadata={"description": "RFC 3339 time: the state then"})
