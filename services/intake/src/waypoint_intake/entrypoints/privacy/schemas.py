"""Schemas of the privacy resource: erasure, subject-access export, access log."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by
from waypoint_shared.http.audit import AccessLogQuerySchema, AccessLogSchema, AccessRecordSchema

__all__ = ["AccessLogQuerySchema", "AccessLogSchema"]


class ErasureSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "why; checked but never stored (it may quote the client)"},
    )
    recorded_by = recorded_by()


class ErasedSchema(Schema):
    client_id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={"description": "erased"})
    version = fields.Integer(required=True)


class ExportedEventSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    stream_id = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.Dict(allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "personal fields opened"})


class ExportSchema(Schema):
    """Everything intake holds about a client, decrypted."""

    service = fields.String(required=True)
    client_id = fields.UUID(required=True)
    exported_at = fields.String(required=True)
    client = fields.Dict(required=True, metadata={"description": "as GET /v1/clients/{id}"})
    events = fields.List(fields.Nested(ExportedEventSchema), required=True)
    access_log = fields.List(fields.Nested(AccessRecordSchema), required=True)
