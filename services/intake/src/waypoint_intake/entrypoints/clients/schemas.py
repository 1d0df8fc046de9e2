"""Request and response schemas of the clients resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import (
    ActorSchema,
    ClientSchema,
    PageQuerySchema,
    ReferralSchema,
    correction,
)
from waypoint_shared.http.ranges import query_time

__all__ = ["ClientSchema", "PageQuerySchema", "ReferralSchema", "correction"]


class AsOfSchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = query_time(metadata={"description": "RFC 3339 time: the state then"})


class ClientListQuerySchema(PageQuerySchema):
    external_id = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the integrator's id of the client"},
    )


class ClientPageSchema(Schema):
    items = fields.List(fields.Nested(ClientSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class HistoryActorSchema(Schema):
    system = fields.String(required=True, metadata={"description": "the token's sub"})
    person = fields.Nested(ActorSchema, allow_none=True)


class HistoryEntrySchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True, metadata={"description": "e.g. consent_granted"})
    occurred_at = fields.String(required=True)
    version = fields.Integer(required=True)
    actor = fields.Nested(HistoryActorSchema, required=True)
    changes = fields.Dict(metadata={"description": "corrections: before and after by field"})


class HistoryPageSchema(Schema):
    items = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    next_cursor = fields.String(allow_none=True)
