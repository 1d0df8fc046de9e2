"""Request schemas of completion and discharge."""

from marshmallow import Schema, fields, validate

from waypoint_intake.entrypoints.client_schemas import recorded_by
from waypoint_shared.catalog.events.intake import ENDING_REASONS
from waypoint_shared.http.ranges import clinical_date


class CompletionSchema(Schema):
    recorded_by = recorded_by()


class DischargeSchema(Schema):
    ending_reason = fields.String(
        required=True,
        validate=validate.OneOf(ENDING_REASONS),
        metadata={"description": "why treatment ended (NHS Talking Therapies ending codes)"},
    )
    discharged_on = clinical_date(
        metadata={"description": "the day treatment ended (default today, UTC)"}
    )
    reason = fields.String(validate=validate.Length(min=1, max=2000))
    recorded_by = recorded_by()
