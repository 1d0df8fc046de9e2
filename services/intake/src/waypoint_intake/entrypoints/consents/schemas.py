"""Request schemas of the consents resource."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by
from waypoint_shared.catalog.events.intake import CONSENT_KINDS
from waypoint_shared.http.ranges import clinical_time


class ConsentGrantSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CONSENT_KINDS))
    document_version = fields.String(required=True, validate=validate.Length(min=1, max=50))
    signed_by = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "who signed, as written on the document (kept sealed)"},
    )
    signed_at = clinical_time(required=True)
    limits_acknowledged = fields.Boolean(
        load_default=False, metadata={"description": "required true for confidentiality"}
    )
    scopes = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=20),
        load_default=list,
        metadata={"description": "what may be shared (data_sharing only; at least one)"},
    )
    recorded_by = recorded_by()


class RevocationSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    revoked_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    recorded_by = recorded_by()
