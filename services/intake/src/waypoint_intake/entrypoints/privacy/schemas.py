"""Schemas of the privacy resource: erasure and the subject-access export (the access log's are
shared)."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by
from waypoint_shared.http import privacy


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


class ExportSchema(privacy.ExportSchema):
    """Everything intake holds about a client, decrypted."""

    client = fields.Dict(required=True, metadata={"description": "as GET /v1/clients/{id}"})
