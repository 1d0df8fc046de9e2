"""Request and response schemas of the clients resource."""

from marshmallow import RAISE, Schema, fields, validate

NAME = validate.Length(min=1, max=200)


class ReferralSchema(Schema):
    given_name = fields.String(required=True, validate=NAME)
    family_name = fields.String(required=True, validate=NAME)
    preferred_name = fields.String(validate=NAME, allow_none=True)
    pronouns = fields.String(validate=validate.Length(max=50), allow_none=True)
    date_of_birth = fields.Date(required=True)
    email = fields.Email(allow_none=True)
    phone = fields.String(validate=validate.Length(min=3, max=40), allow_none=True)
    preferred_language = fields.String(validate=validate.Length(min=2, max=35), allow_none=True)
    interpreter_needed = fields.Boolean(load_default=False)
    presenting_concerns = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)),
        validate=validate.Length(max=20),
        load_default=list,
    )
    referral_source = fields.String(validate=validate.Length(max=200), allow_none=True)
    external_id = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)


class ClientSchema(ReferralSchema):
    client_id = fields.UUID(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True)
    date_of_birth = fields.String(required=True)


class AsOfSchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = fields.AwareDateTime(metadata={"description": "RFC 3339 time: the state then"})
