"""Query schemas of the FHIR endpoints."""

from marshmallow import RAISE, Schema, fields


class ObservationSearchSchema(Schema):
    class Meta:
        unknown = RAISE

    patient = fields.UUID(required=True, metadata={"description": "The client id"})
