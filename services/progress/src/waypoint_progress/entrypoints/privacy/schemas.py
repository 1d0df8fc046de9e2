"""Schemas of progress's privacy resource: the subject-access export and the access log."""

from marshmallow import Schema, fields

from waypoint_shared.http.audit import AccessLogQuerySchema, AccessLogSchema, AccessRecordSchema

__all__ = ["AccessLogQuerySchema", "AccessLogSchema"]


class ExportedEventSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    stream_id = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.Dict(allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "personal fields opened"})


class ExportSchema(Schema):
    """Everything progress holds about a client, decrypted."""

    service = fields.String(required=True)
    client_id = fields.UUID(required=True)
    exported_at = fields.String(required=True)
    timeline = fields.List(fields.Dict(), required=True, metadata={"description": "as /timeline"})
    events = fields.List(fields.Nested(ExportedEventSchema), required=True)
    access_log = fields.List(fields.Nested(AccessRecordSchema), required=True)
