"""Query and response schemas of a client's plan."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_shared.http.ranges import query_time


class PlanQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = query_time(metadata={"description": "RFC 3339 time: the plan then"})
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class PlanSchema(Schema):
    client_id = fields.UUID(required=True)
    goals = fields.List(fields.Nested(GoalSchema), required=True)
    next_cursor = fields.String(allow_none=True)
