"""Schemas of goals' privacy resource: the subject-access export (the access log's are shared)."""

from marshmallow import Schema, fields

from waypoint_goals.entrypoints.goals.schemas import GoalSchema
from waypoint_goals.entrypoints.staying_well.schemas import StayingWellPlanViewSchema
from waypoint_shared.http import privacy


class EligibilityExportSchema(Schema):
    """What intake told goals about the client."""

    treatment_consent = fields.String(allow_none=True)
    intake_completed_at = fields.DateTime(allow_none=True)
    therapist_id = fields.String(allow_none=True)
    discharged_at = fields.DateTime(allow_none=True)


class ExportSchema(privacy.ExportSchema):
    """Everything goals holds about a client, decrypted."""

    eligibility = fields.Nested(EligibilityExportSchema, allow_none=True)
    goals = fields.List(fields.Nested(GoalSchema), required=True)
    staying_well_plan = fields.Nested(StayingWellPlanViewSchema, allow_none=True)
