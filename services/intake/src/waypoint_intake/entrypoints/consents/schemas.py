"""Request schemas of the consents resource."""

from typing import Any

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


NO_SCOPES = {"scopes": {"maxItems": 0}}


def kind_shapes() -> list[dict[str, Any]]:
    """What each kind of consent needs, as the OpenAPI document states it (`oneOf`): what the
    record refuses with 422 (confidentiality acknowledges its limits; only data sharing, and
    always, names scopes)."""
    return [
        {"properties": {"kind": {"const": "treatment"}, **NO_SCOPES}},
        {
            "properties": {
                "kind": {"const": "confidentiality"},
                "limits_acknowledged": {"const": True},
                **NO_SCOPES,
            },
            "required": ["limits_acknowledged"],
        },
        {
            "properties": {"kind": {"const": "data_sharing"}, "scopes": {"minItems": 1}},
            "required": ["scopes"],
        },
    ]


class RevocationSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    revoked_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    recorded_by = recorded_by()
