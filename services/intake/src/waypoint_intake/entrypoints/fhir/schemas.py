"""Schemas of intake's FHIR endpoints: the search parameter, and the resources for the docs
(the bodies are FHIR R4 JSON, answered as built)."""

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class PatientSearchSchema(Schema):
    class Meta:
        unknown = RAISE

    patient = fields.String(
        required=True,
        validate=validate.Regexp(rf"^(Patient/)?{UUID_PATTERN}$"),
        metadata={"description": "the client id, or Patient/<client id>"},
    )


class FhirResourceSchema(Schema):
    """A FHIR R4 resource (see hl7.org/fhir/R4)."""

    class Meta:
        unknown = INCLUDE

    resourceType = fields.String(required=True)
    id = fields.String()


class FhirBundleSchema(FhirResourceSchema):
    """A FHIR R4 Bundle of type searchset."""

    type = fields.String(required=True)
    total = fields.Integer()
    entry = fields.List(fields.Dict())
