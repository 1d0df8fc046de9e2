"""Request and response schemas of a client's staying-well plan."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from waypoint_goals.entrypoints.goals.schemas import TEXT, TEXTS, PartySchema

BOTH_PARTIES = "The plan is agreed by the client and the therapist together: name one of each."


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(
        validate=validate.Length(min=1, max=100), allow_none=True, load_default=None
    )
    phone = fields.String(
        validate=validate.Regexp(r"^[0-9+()\- .]{3,40}$", error="Not a phone number."),
        allow_none=True,
        load_default=None,
    )


def texts(minimum: int) -> fields.List[Any]:
    return fields.List(
        fields.String(validate=TEXT),
        required=True,
        validate=[validate.Length(min=minimum), TEXTS],
    )


def one_with_role(role: str) -> dict[str, Any]:
    """The document's rule that the parties include one of this role."""
    return {"contains": {"properties": {"role": {"const": role}}}}


class StayingWellPlanSchema(Schema):
    warning_signs = texts(minimum=1)
    what_helps = texts(minimum=1)
    who_to_contact = fields.List(fields.Nested(ContactSchema), required=True, validate=TEXTS)
    agreed_by = fields.List(
        fields.Nested(PartySchema),
        required=True,
        validate=validate.Length(equal=2),
        metadata={
            "description": "the client and the therapist who agree the plan",
            "allOf": [one_with_role("client"), one_with_role("therapist")],
        },
    )

    @validates_schema  # after the fields: only once every party is well formed
    def _both_parties(self, data: dict[str, Any], **_: Any) -> None:
        if sorted(party["role"] for party in data["agreed_by"]) != ["client", "therapist"]:
            raise ValidationError(BOTH_PARTIES, "agreed_by")


class StayingWellPlanViewSchema(StayingWellPlanSchema):
    client_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
