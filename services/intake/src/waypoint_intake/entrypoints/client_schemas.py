"""Request and response schemas shared by the client resources."""

import re
from itertools import groupby
from typing import Any

import langcodes
from langcodes.data_dicts import ALL_SCRIPTS, VALIDITY
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from waypoint_shared.catalog import MODALITIES
from waypoint_shared.catalog.events.common import ROLES
from waypoint_shared.catalog.events.intake import (
    AGE_GROUPS,
    CONSENT_KINDS,
    ENDING_REASONS,
    EXPECTATION_TOPICS,
)
from waypoint_shared.http.paging import cursor_param
from waypoint_shared.http.ranges import clinical_date

NAME = validate.Length(min=1, max=200)
TEXT = validate.Length(min=1, max=4000)
LANGUAGE_FORM = re.compile(r"[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8})*")  # subtags joined by hyphens


# The language tags intake accepts, as one pattern that the OpenAPI document states and the
# validation applies: a registered primary language subtag, then optionally a registered script
# and a registered region, each in its canonical case (`en`, `pt-BR`, `sr-Latn`, `zh-Hant-TW`).
# The subtags are those of the IANA registry as `langcodes` ships it, so the pattern changes only
# with that package's data.
_LANGUAGE = r"(?:[a-z]|\[[a-z]-[a-z]\])+"  # letters and ranges such as `aa[a-i]`
_REGION = r"(?:[A-Z0-9]|\[[A-Z0-9]-[A-Z0-9]\])+"


def _registered_subtags() -> list[str]:
    """The registered subtags, as the alternatives of langcodes' validity pattern."""
    return VALIDITY.pattern.removeprefix("^(").removesuffix(")$").split("|")


def _width(alternative: str) -> int:
    return len(re.sub(r"\[.-.\]", "x", alternative))


def _by_first_letter(alternatives: list[str]) -> str:
    """`a(?:a|b[a-j])|b(?:…)`: the same alternatives, shorter written."""
    groups = groupby(sorted(alternatives), key=lambda a: a[0])
    return "|".join(f"{first}(?:{'|'.join(a[1:] for a in group)})" for first, group in groups)


def _language_tag_pattern() -> str:
    alternatives = _registered_subtags()
    languages = [a for a in alternatives if re.fullmatch(_LANGUAGE, a) and _width(a) in (2, 3)]
    regions = [a for a in alternatives if re.fullmatch(_REGION, a) and _width(a) < 4]
    scripts = sorted(s for s in ALL_SCRIPTS if re.fullmatch(r"[A-Z][a-z]{3}", s))
    return (
        f"^(?:{_by_first_letter(languages)})"
        f"(?:-(?:{'|'.join(scripts)}))?"
        f"(?:-(?:{'|'.join(regions)}))?$"
    )


LANGUAGE_TAG_PATTERN = _language_tag_pattern()
_LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)


def matches_language_tag(value: str) -> bool:
    """Whether the value matches the documented pattern as ECMA-262 reads it (the regular
    expressions of JSON Schema): `$` is the end of the value, so `"en\\n"` does not match."""
    return _LANGUAGE_TAG.fullmatch(value) is not None


def is_language_tag(value: str) -> bool:
    """A BCP 47 language tag whose subtags are registered: `en`, `de`, `pt-BR`, `zh-Hant-TW`."""
    return bool(LANGUAGE_FORM.fullmatch(value)) and langcodes.tag_is_valid(value)


def _check_language_tag(value: str) -> None:
    """A new tag is registered and written as the document's pattern states; records kept
    before that rule are still read and exported (`is_language_tag`)."""
    if not (matches_language_tag(value) and is_language_tag(value)):
        raise ValidationError("Not a BCP 47 language tag (such as en, de or pt-BR).")


def language_tag(**kwargs: Any) -> fields.String:
    """A language as a BCP 47 tag (RFC 5646), as FHIR exports it (`urn:ietf:bcp:47`)."""
    return fields.String(
        validate=[validate.Length(min=2, max=35), _check_language_tag],
        metadata={
            "description": "a BCP 47 language tag, such as en, de or pt-BR: a registered "
            "language, optionally a registered script and region, in canonical case",
            "pattern": LANGUAGE_TAG_PATTERN,
        },
        **kwargs,
    )


class WholeNumber(fields.Integer):
    """A JSON integer, as JSON Schema reads one: `3` or `3.0` (kept as 3); never `3.5`, `"3"`
    or a boolean."""

    def __init__(self, **kwargs: Any):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


def stored_date(description: str) -> fields.String:
    """A date in an answer: an ISO `YYYY-MM-DD` string as the events keep it, or null."""
    return fields.String(allow_none=True, metadata={"format": "date", "description": description})


class ActorSchema(Schema):
    """The person who acted, by role and the integrator's id (never a name)."""

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))


def recorded_by(required: bool = True) -> fields.Nested:
    return fields.Nested(
        ActorSchema,
        required=required,
        metadata={"description": "who acted: kept in the event metadata, shown by /history"},
    )


class DetailsSchema(Schema):
    given_name = fields.String(required=True, validate=NAME)
    family_name = fields.String(required=True, validate=NAME)
    preferred_name = fields.String(validate=NAME, allow_none=True)
    pronouns = fields.String(validate=validate.Length(max=50), allow_none=True)
    date_of_birth: fields.Field[Any] = clinical_date(required=True)  # ClientSchema: a string
    email = fields.Email(allow_none=True)
    phone = fields.String(validate=validate.Length(min=3, max=40), allow_none=True)
    preferred_language = language_tag(allow_none=True)
    interpreter_needed = fields.Boolean(load_default=False)
    presenting_concerns = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)),
        validate=validate.Length(max=20),
        load_default=list,
    )
    referral_source = fields.String(validate=validate.Length(max=200), allow_none=True)
    external_id = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)


class ReferralSchema(DetailsSchema):
    referred_on = clinical_date(
        metadata={
            "description": "the day of the referral (default today, UTC): never in the future, "
            "never before the date of birth; an earlier day brings a history over"
        }
    )
    recorded_by = recorded_by(required=False)


class CorrectionSchema(DetailsSchema):
    """Any of the referral's details; only the fields sent are corrected (see `correction`)."""

    recorded_by = recorded_by()

    @validates_schema
    def names_something_to_correct(self, data: dict[str, Any], **_kwargs: object) -> None:
        if not set(data) - {"recorded_by"}:
            raise ValidationError("Name at least one detail to correct.", "_schema")


def correction() -> CorrectionSchema:
    """Every detail optional and without defaults, so an absent field is left as it is."""
    return CorrectionSchema(partial=tuple(DetailsSchema._declared_fields))


class PreferencesSchema(Schema):
    language = language_tag()
    gender = fields.String(validate=validate.Length(min=1, max=50))
    modality = fields.String(validate=validate.OneOf(MODALITIES))
    other = fields.String(validate=validate.Length(max=1000))


class CulturalContextSchema(Schema):
    background = fields.String(validate=TEXT, allow_none=True)
    identities = fields.List(fields.String(validate=NAME), validate=validate.Length(max=20))
    religion_or_spirituality = fields.String(validate=validate.Length(max=500), allow_none=True)
    considerations_for_care = fields.String(validate=TEXT, allow_none=True)
    therapist_preferences = fields.Nested(PreferencesSchema)


class ConsentStateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CONSENT_KINDS))
    status = fields.String(required=True, metadata={"description": "active, revoked, superseded"})
    document_version = fields.String(required=True)
    signed_by = fields.String(required=True)
    signed_at = fields.String(required=True)
    limits_acknowledged = fields.Boolean()
    scopes = fields.List(fields.String())
    revocation_reason = fields.String()
    revoked_by = fields.String()


class ExpectationSchema(Schema):
    topic = fields.String(required=True, validate=validate.OneOf(EXPECTATION_TOPICS))
    acknowledged_by = fields.Nested(ActorSchema, required=True)


class ScreeningStateSchema(Schema):
    screening_id = fields.UUID(required=True)
    instrument = fields.String(required=True)
    items = fields.List(fields.Integer(), required=True)
    total = fields.Integer(required=True)
    severity = fields.String(required=True)
    risk_flag = fields.Boolean(required=True)
    administered_on = stored_date("the day it was filled in (null if recorded undated)")


class ClientSchema(DetailsSchema):
    client_id = fields.UUID(required=True)
    status = fields.String(
        required=True, metadata={"description": "referred, intake_complete or discharged"}
    )
    version = fields.Integer(required=True)
    date_of_birth = fields.String(required=True)
    in_active_care = fields.Boolean(
        metadata={"description": "not discharged and treatment consent active"}
    )
    cultural_context = fields.Nested(CulturalContextSchema, allow_none=True)
    consents = fields.List(fields.Nested(ConsentStateSchema))
    expectations = fields.List(fields.Nested(ExpectationSchema))
    screenings = fields.List(fields.Nested(ScreeningStateSchema))
    referred_on = stored_date("the referral's clinical date (null if recorded undated)")
    age_group = fields.String(
        allow_none=True,
        validate=validate.OneOf(AGE_GROUPS),
        metadata={"description": "on the referral day: child (<13), adolescent (13-17), adult"},
    )
    therapist_id = fields.UUID(allow_none=True)
    discharge_reason = fields.String(allow_none=True)
    ending_reason = fields.String(allow_none=True, validate=validate.OneOf(ENDING_REASONS))
    discharged_on = stored_date("the day treatment ended")
    missing_requirements = fields.List(
        fields.String(), metadata={"description": "what completing intake still waits for"}
    )


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = cursor_param()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
