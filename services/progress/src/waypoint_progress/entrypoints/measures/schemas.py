"""Query and response schemas of the measures resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_progress.domain.scoring import INSTRUMENTS


class MeasuresQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    instrument = fields.String(required=True, validate=validate.OneOf(tuple(INSTRUMENTS)))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,9}$"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class PointSchema(Schema):
    source = fields.String(required=True, metadata={"description": "screening or session"})
    source_event_id = fields.UUID(required=True)
    session_id = fields.UUID(allow_none=True)
    date = fields.String(required=True)
    recorded_at = fields.String(required=True)
    score = fields.Raw(required=True)
    band = fields.String(required=True)
    baseline = fields.Raw(required=True)
    change_from_baseline = fields.Raw(required=True)
    reliable_change = fields.String(
        allow_none=True, metadata={"description": "improved, deteriorated, no reliable change"}
    )
    reliable_improvement = fields.Boolean(required=True)
    reliable_deterioration = fields.Boolean(required=True)
    recovery = fields.Boolean(required=True)


class TrajectorySchema(Schema):
    client_id = fields.UUID(required=True)
    instrument = fields.String(required=True)
    baseline = fields.Raw(allow_none=True)
    points = fields.List(fields.Nested(PointSchema), required=True)
    next_cursor = fields.String(allow_none=True, metadata={"description": "the next page's"})
