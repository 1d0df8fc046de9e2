"""Events intake publishes on `waypoint.intake.events` (key = client id; roster events are keyed
by therapist id and carry no client)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from waypoint_shared.catalog.events.common import (
    PERSONAL,
    Actor,
    ClientEvent,
    EventType,
    Upcaster,
    adding,
)

CONSENT_KINDS = ("treatment", "confidentiality", "data_sharing")
EXPECTATION_TOPICS = (
    "session_frequency",
    "contact_between_sessions",
    "cancellation",
    "what_therapy_involves",
)
SCREENING_INSTRUMENTS = ("PHQ-9", "GAD-7")
# The client's age on the referral day: child under 13, adolescent 13 to 17, adult 18 and over.
AGE_GROUPS = ("child", "adolescent", "adult")
# Why treatment ended: a subset of the NHS Talking Therapies Data Set ending codes (ENDCODE); the
# mapping to the codes is listed in docs/intake.md.
ENDING_REASONS = (
    "completed_treatment",
    "ended_early_by_client",
    "ended_early_by_service",
    "referred_elsewhere",
    "declined_treatment",
    "not_suitable",
    "assessment_incomplete",
    "advice_and_support_only",
    "deceased",
    "not_known",
)


class ClientReferredV1(ClientEvent):
    given_name = fields.String(required=True, metadata=PERSONAL)
    family_name = fields.String(required=True, metadata=PERSONAL)
    preferred_name = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    pronouns = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    date_of_birth = fields.String(required=True, metadata=PERSONAL)
    email = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    phone = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    external_id = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    presenting_concerns = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    preferred_language = fields.String(allow_none=True, load_default=None)
    interpreter_needed = fields.Boolean(load_default=False)
    referral_source = fields.String(allow_none=True, load_default=None)


class ClientReferredV2(ClientReferredV1):
    """The referral dated (`referred_on`, the clinical date) and the age group intake derives from
    the date of birth on that day; both None on a v1 referral."""

    referred_on = fields.Date(allow_none=True, load_default=None)
    age_group = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(AGE_GROUPS)
    )


class ClientDetailsCorrectedV1(ClientEvent):
    changed_fields = fields.List(fields.String(), required=True)
    # {field: {"before": …, "after": …}}: personal as a whole, since it quotes personal values
    changes = fields.Dict(required=True, metadata=PERSONAL)


class CulturalContextRecordedV1(ClientEvent):
    background = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    identities = fields.List(fields.String(), load_default=list, metadata=PERSONAL)
    religion_or_spirituality = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    considerations_for_care = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    # {"language": …, "gender": …, "other": …}
    therapist_preferences = fields.Dict(load_default=dict, metadata=PERSONAL)


class ConsentGrantedV1(ClientEvent):
    kind = fields.String(required=True, validate=validate.OneOf(CONSENT_KINDS))
    document_version = fields.String(required=True)
    signed_by = fields.String(required=True, metadata=PERSONAL)
    signed_at = fields.String(required=True)
    limits_acknowledged = fields.Boolean(load_default=False)
    scopes = fields.List(fields.String(), load_default=list)


class ConsentRevokedV1(ClientEvent):
    kind = fields.String(required=True, validate=validate.OneOf(CONSENT_KINDS))
    reason = fields.String(required=True, metadata=PERSONAL)
    revoked_by = fields.String(required=True, metadata=PERSONAL)


class ExpectationsAcknowledgedV1(ClientEvent):
    topics = fields.List(fields.String(validate=validate.OneOf(EXPECTATION_TOPICS)), required=True)
    acknowledged_by = fields.Nested(Actor, required=True)
    notes = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)


class ScreeningRecordedV1(ClientEvent):
    screening_id = fields.UUID(required=True)
    instrument = fields.String(required=True, validate=validate.OneOf(SCREENING_INSTRUMENTS))
    items = fields.List(fields.Integer(validate=validate.Range(min=0, max=3)), required=True)
    total = fields.Integer(required=True)
    severity = fields.String(required=True)


class ScreeningRecordedV2(ScreeningRecordedV1):
    """The day the questionnaire was filled in; None on a v1 screening."""

    administered_on = fields.Date(allow_none=True, load_default=None)


class RiskFlaggedV1(ClientEvent):
    screening_id = fields.UUID(required=True)
    instrument = fields.String(required=True)
    item = fields.Integer(required=True)
    score = fields.Integer(required=True)


class TherapistAssignedV1(ClientEvent):
    therapist_id = fields.UUID(required=True)
    previous_therapist_id = fields.UUID(allow_none=True, load_default=None)


class IntakeCompletedV1(ClientEvent):
    therapist_id = fields.UUID(required=True)


class ClientDischargedV1(ClientEvent):
    reason = fields.String(required=True, metadata=PERSONAL)


class ClientDischargedV2(ClientDischargedV1):
    """A structured ending reason and the day treatment ended (both None on a v1 discharge); the
    free-text reason becomes optional."""

    reason = fields.String(allow_none=True, load_default=None, metadata=PERSONAL)
    ending_reason = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(ENDING_REASONS)
    )
    discharged_on = fields.Date(allow_none=True, load_default=None)


class ClientErasedV1(ClientEvent):
    """The client's personal data was erased (crypto-shredding) in every service that holds it.

    Carries no personal field: the free-text reason of the request is not kept anywhere, since
    anything kept about an erased client would outlive the erasure.
    """

    erased_by = fields.Nested(Actor, required=True)


class TherapistRegisteredV1(Schema):
    therapist_id = fields.UUID(required=True)
    name = fields.String(required=True)
    gender = fields.String(allow_none=True, load_default=None)
    languages = fields.List(fields.String(), load_default=list)
    modalities = fields.List(fields.String(), load_default=list)
    specialties = fields.List(fields.String(), load_default=list)
    accepting_clients = fields.Boolean(load_default=True)
    capacity = fields.Integer(required=True, validate=validate.Range(min=0))


class TherapistUpdatedV1(Schema):
    therapist_id = fields.UUID(required=True)
    changed_fields = fields.List(fields.String(), required=True)
    changes = fields.Dict(required=True)


class CaseloadChange(Schema):
    """Recorded on the therapist's stream: its version guards capacity against races."""

    therapist_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)


class ClientTakenOnV1(CaseloadChange):
    pass


class ClientHandedOverV1(CaseloadChange):
    pass


FIRST_VERSIONS = tuple(
    EventType("intake", name, 1, schema)
    for name, schema in (
        ("client_referred", ClientReferredV1),
        ("client_details_corrected", ClientDetailsCorrectedV1),
        ("cultural_context_recorded", CulturalContextRecordedV1),
        ("consent_granted", ConsentGrantedV1),
        ("consent_revoked", ConsentRevokedV1),
        ("expectations_acknowledged", ExpectationsAcknowledgedV1),
        ("screening_recorded", ScreeningRecordedV1),
        ("risk_flagged", RiskFlaggedV1),
        ("therapist_assigned", TherapistAssignedV1),
        ("intake_completed", IntakeCompletedV1),
        ("client_discharged", ClientDischargedV1),
        ("client_erased", ClientErasedV1),
        ("therapist_registered", TherapistRegisteredV1),
        ("therapist_updated", TherapistUpdatedV1),
        ("client_taken_on", ClientTakenOnV1),
        ("client_handed_over", ClientHandedOverV1),
    )
)

CLIENT_REFERRED_V2 = EventType("intake", "client_referred", 2, ClientReferredV2)
SCREENING_RECORDED_V2 = EventType("intake", "screening_recorded", 2, ScreeningRecordedV2)
CLIENT_DISCHARGED_V2 = EventType("intake", "client_discharged", 2, ClientDischargedV2)
EVENT_TYPES = (*FIRST_VERSIONS, CLIENT_REFERRED_V2, SCREENING_RECORDED_V2, CLIENT_DISCHARGED_V2)

UPCASTERS: dict[str, Upcaster] = {
    "waypoint.intake.client_referred.v1": adding(
        CLIENT_REFERRED_V2.type, "referred_on", "age_group"
    ),
    "waypoint.intake.screening_recorded.v1": adding(SCREENING_RECORDED_V2.type, "administered_on"),
    "waypoint.intake.client_discharged.v1": adding(
        CLIENT_DISCHARGED_V2.type, "ending_reason", "discharged_on"
    ),
}
