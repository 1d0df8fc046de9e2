"""Request and response schemas of the therapist roster."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from waypoint_intake.entrypoints.client_schemas import (
    NAME,
    PageQuerySchema,
    WholeNumber,
    language_tag,
    recorded_by,
)
from waypoint_shared.catalog import MODALITIES

__all__ = ["PageQuerySchema", "TherapistProfileSchema", "TherapistSchema", "TherapistUpdateSchema"]


class ProfileSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    gender = fields.String(validate=validate.Length(min=1, max=50), allow_none=True)
    languages = fields.List(
        language_tag(),
        validate=validate.Length(max=20),
        load_default=list,
    )
    modalities = fields.List(
        fields.String(validate=validate.OneOf(MODALITIES)),
        validate=validate.Length(max=len(MODALITIES)),
        load_default=list,
    )
    specialties = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=30),
        load_default=list,
    )
    accepting_clients = fields.Boolean(load_default=True)
    capacity = WholeNumber(
        required=True,
        validate=validate.Range(min=0, max=500),
        metadata={"description": "how many clients at once"},
    )


class TherapistProfileSchema(ProfileSchema):
    recorded_by = recorded_by()


class TherapistUpdateSchema(ProfileSchema):
    """Only the fields sent are changed (loaded with every profile field optional)."""

    recorded_by = recorded_by()

    @validates_schema
    def names_something_to_change(self, data: dict[str, Any], **_kwargs: object) -> None:
        if not set(data) - {"recorded_by"}:
            raise ValidationError("Name at least one field to change.", "_schema")


def therapist_update() -> TherapistUpdateSchema:
    return TherapistUpdateSchema(partial=tuple(ProfileSchema._declared_fields))


class TherapistSchema(ProfileSchema):
    therapist_id = fields.UUID(required=True)
    caseload = fields.Integer(required=True, metadata={"description": "clients assigned now"})
    free_places = fields.Integer(required=True)
    version = fields.Integer(required=True)


class TherapistPageSchema(Schema):
    items = fields.List(fields.Nested(TherapistSchema), required=True)
    next_cursor = fields.String(allow_none=True)
