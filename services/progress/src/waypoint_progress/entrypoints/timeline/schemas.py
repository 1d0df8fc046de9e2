"""Query and response schemas of the timeline resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_shared.http.paging import cursor_param
from waypoint_shared.http.ranges import query_time

_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
# The sort key of the page's last entry: clinical and recorded time (UTC, to the microsecond),
# service rank, stream version, kind rank, rule row and entry id.
SORT_KEY = rf"^{_TIME}\|{_TIME}\|[0-9]\|[0-9]{{10}}\|[0-9]\|[0-9]{{3}}\|[A-Za-z0-9_.:-]{{1,64}}$"


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = cursor_param(SORT_KEY, "the sort key of the last entry")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HistoryQuerySchema(PageQuerySchema):
    cursor = cursor_param(form="the version of the last event")


class TimelineQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(("event", "milestone", "alert")))
    since = query_time(
        metadata={"description": "RFC 3339 time: entries whose clinical time is at or after it"}
    )
    until = query_time(
        metadata={
            "description": "RFC 3339 time: entries whose clinical time is at or before it (what"
            " had happened by then, as known now; `recorded_at` tells when each became known)"
        }
    )


class SourceSchema(Schema):
    service = fields.String(required=True)
    event_id = fields.UUID(required=True)


class EntrySchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    occurred_at = fields.String(
        required=True,
        metadata={
            "description": "Clinical time: when it happened (a session's date, a consent's"
            " signing…; a date-only fact is 00:00 UTC of its day); for a milestone or alert,"
            " the clinical time of the event that completed it. The timeline is in this order."
        },
    )
    recorded_at = fields.String(
        required=True,
        metadata={
            "description": "Recorded time: when the event (for a milestone or alert, the event"
            " that completed it) was recorded; breaks ties of clinical time."
        },
    )
    source = fields.Nested(SourceSchema, required=True)


class TimelinePageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema), required=True)
    next_cursor = fields.String(allow_none=True)
