"""The events of a client's intake: frozen, past tense, fields as in the shared catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def changed(current: dict[str, Any], values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field whose value really changes, with its value before and after (as the
    `changes` of a correction or an update record them)."""
    return {
        name: {"before": current.get(name), "after": value}
        for name, value in sorted(values.items())
        if current.get(name) != value
    }


@dataclass(frozen=True)
class ClientEvent:
    """What every event of a client's stream names: the client."""

    client_id: str


@dataclass(frozen=True)
class ClientReferred(ClientEvent):
    given_name: str
    family_name: str
    date_of_birth: str
    preferred_name: str | None = None
    pronouns: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    presenting_concerns: list[str] = field(default_factory=list)
    preferred_language: str | None = None
    interpreter_needed: bool = False
    referral_source: str | None = None
    referred_on: str | None = None  # ISO date; None on a v1 referral
    age_group: str | None = None


@dataclass(frozen=True)
class ClientDetailsCorrected(ClientEvent):
    changed_fields: list[str]
    changes: dict[str, dict[str, Any]]  # {field: {"before": …, "after": …}}


@dataclass(frozen=True)
class CulturalContextRecorded(ClientEvent):
    background: str | None = None
    identities: list[str] = field(default_factory=list)
    religion_or_spirituality: str | None = None
    considerations_for_care: str | None = None
    therapist_preferences: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentGranted(ClientEvent):
    kind: str
    document_version: str
    signed_by: str
    signed_at: str
    limits_acknowledged: bool = False
    scopes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConsentRevoked(ClientEvent):
    kind: str
    reason: str
    revoked_by: str


@dataclass(frozen=True)
class ExpectationsAcknowledged(ClientEvent):
    topics: list[str]
    acknowledged_by: dict[str, str]
    notes: str | None = None


@dataclass(frozen=True)
class ScreeningRecorded(ClientEvent):
    screening_id: str
    instrument: str
    items: list[int]
    total: int
    severity: str
    administered_on: str | None = None  # ISO date; None on a v1 screening


@dataclass(frozen=True)
class RiskFlagged(ClientEvent):
    screening_id: str
    instrument: str
    item: int
    score: int


@dataclass(frozen=True)
class TherapistAssigned(ClientEvent):
    therapist_id: str
    previous_therapist_id: str | None = None


@dataclass(frozen=True)
class IntakeCompleted(ClientEvent):
    therapist_id: str


@dataclass(frozen=True)
class ClientDischarged(ClientEvent):
    reason: str | None = None
    ending_reason: str | None = None  # None on a v1 discharge
    discharged_on: str | None = None  # ISO date; None on a v1 discharge


@dataclass(frozen=True)
class ClientErased(ClientEvent):
    erased_by: dict[str, str]


CLIENT_EVENTS: tuple[type, ...] = (
    ClientReferred,
    ClientDetailsCorrected,
    CulturalContextRecorded,
    ConsentGranted,
    ConsentRevoked,
    ExpectationsAcknowledged,
    ScreeningRecorded,
    RiskFlagged,
    TherapistAssigned,
    IntakeCompleted,
    ClientDischarged,
    ClientErased,
)
