"""Schemas of goals' privacy resource: the subject-access export and the access log."""

from marshmallow import Schema, fields

from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_shared.http.audit import AccessLogQuerySchema, AccessLogSchema, AccessRecordSchema

__all__ = ["AccessLogQuerySchema", "AccessLogSchema"]


class EligibilityExportSchema(Schema):
    """What intake told goals about the client."""

    treatment_consent = fields.String(allow_none=True)
    intake_completed_at = fields.DateTime(allow_none=True)
    therapist_id = fields.String(allow_none=True)
    discharged_at = fields.DateTime(allow_none=True)


class ExportedEventSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    stream_id = fields.String(required=True, metadata={"description": "the goal id"})
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.Dict(allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "personal fields opened"})


class ExportSchema(Schema):
    """Everything goals holds about a client, decrypted."""

    service = fields.String(required=True)
    client_id = fields.UUID(required=True)
    exported_at = fields.String(required=True)
    eligibility = fields.Nested(EligibilityExportSchema, allow_none=True)
    goals = fields.List(fields.Nested(GoalSchema), required=True)
    events = fields.List(fields.Nested(ExportedEventSchema), required=True)
    access_log = fields.List(fields.Nested(AccessRecordSchema), required=True)
