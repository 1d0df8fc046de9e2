"""Query and response schemas of the timeline resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_shared.http.ranges import query_time


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.String(validate=validate.Length(min=1, max=400))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TimelineQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(("event", "milestone", "alert")))
    since = query_time()
    until = query_time()


class SourceSchema(Schema):
    service = fields.String(required=True)
    event_id = fields.UUID(required=True)


class EntrySchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    occurred_at = fields.String(required=True)
    source = fields.Nested(SourceSchema, required=True)


class TimelinePageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema), required=True)
    next_cursor = fields.String(allow_none=True)
