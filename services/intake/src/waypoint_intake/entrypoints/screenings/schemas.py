"""Request and response schemas of the screenings resource."""

from typing import Any

from marshmallow import Schema, fields, validate

from waypoint_intake.domain.screening import INSTRUMENTS, ITEM_RANGE
from waypoint_intake.entrypoints.client_schemas import WholeNumber, recorded_by, stored_date
from waypoint_shared.http.ranges import clinical_date


class ScreeningSchema(Schema):
    """Item scores only (never item texts); the service scores them."""

    instrument = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "PHQ-9 (9 items) or GAD-7 (7 items)"},
    )
    items = fields.List(
        WholeNumber(),
        required=True,
        validate=validate.Length(max=20),
        metadata={"description": "each 0 to 3, in the instrument's order"},
    )
    administered_on = clinical_date(
        metadata={
            "description": "the day it was filled in (default today, UTC): not before the "
            "referral, not more than one day after today"
        }
    )
    recorded_by = recorded_by()


def instrument_shapes() -> list[dict[str, Any]]:
    """Each instrument with its item count and item scores, as the OpenAPI document states them
    (`oneOf`): what scoring refuses with 422."""
    return [
        {
            "properties": {
                "instrument": {"const": measure.name},
                "items": {
                    "minItems": measure.item_count,
                    "maxItems": measure.item_count,
                    "items": {"minimum": ITEM_RANGE.start, "maximum": ITEM_RANGE.stop - 1},
                },
            }
        }
        for measure in INSTRUMENTS.values()
    ]


class ScreeningResultSchema(Schema):
    client_id = fields.UUID(required=True)
    screening_id = fields.UUID(required=True)
    instrument = fields.String(required=True)
    items = fields.List(fields.Integer(), required=True)
    total = fields.Integer(required=True)
    severity = fields.String(required=True, metadata={"description": "severity band"})
    administered_on = stored_date("the day it was filled in")
    risk_flag = fields.Boolean(metadata={"description": "PHQ-9 only: item 9 above 0"})
    version = fields.Integer(required=True)
