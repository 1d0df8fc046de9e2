"""The client record, one stream per client: it decides what each intake step records and
rebuilds itself from those events (the same path for a live command and a replay)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from waypoint_intake.domain import clinical_dates, screening
from waypoint_intake.domain.errors import IntakeIncomplete, InvalidRequest, NotFound, Refused
from waypoint_intake.domain.events import (
    ClientDetailsCorrected,
    ClientDischarged,
    ClientErased,
    ClientReferred,
    ConsentGranted,
    ConsentRevoked,
    CulturalContextRecorded,
    ExpectationsAcknowledged,
    IntakeCompleted,
    RiskFlagged,
    ScreeningRecorded,
    TherapistAssigned,
    changed,
)
from waypoint_intake.domain.replay import replayed

__all__ = ["Client", "NotFound"]
REQUIRED_CONSENTS = ("treatment", "confidentiality")


@dataclass
class Client:
    """A client rebuilt from its events; `version` is the stream version."""

    client_id: str
    version: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "unknown"
    cultural_context: dict[str, Any] | None = None
    consents: list[dict[str, Any]] = field(default_factory=list)
    expectations: dict[str, dict[str, str]] = field(default_factory=dict)
    screenings: list[dict[str, Any]] = field(default_factory=list)
    therapist_id: str | None = None
    discharge_reason: str | None = None
    ending_reason: str | None = None
    discharged_on: str | None = None

    @staticmethod
    def refer(
        client_id: str, today: date, referred_on: date | None = None, **details: Any
    ) -> ClientReferred:
        """A referral dated `referred_on` (today when not given), with the age group then."""
        referred_on = referred_on or today
        born = date.fromisoformat(details["date_of_birth"])
        clinical_dates.check_referral_date(referred_on, born, today)
        group = clinical_dates.age_group(born, referred_on)
        return ClientReferred(
            client_id=client_id, referred_on=referred_on.isoformat(), age_group=group, **details
        )

    def correct(self, corrections: dict[str, Any]) -> list[ClientDetailsCorrected]:
        """Only values that really change are recorded, each with its value before."""
        self._ensure_open()
        changes = changed(self.details, corrections)
        if not changes:
            return []
        if "date_of_birth" in changes and self.referred_on is not None:
            born = date.fromisoformat(changes["date_of_birth"]["after"])
            clinical_dates.check_birth_date(born, self.referred_on)
        return [ClientDetailsCorrected(self.client_id, list(changes), changes)]

    def record_cultural_context(self, **context: Any) -> list[object]:
        self._ensure_open()
        return [CulturalContextRecorded(client_id=self.client_id, **context)]

    def grant_consent(self, kind: str, **consent: Any) -> list[object]:
        self._ensure_open()
        if kind == "confidentiality" and not consent.get("limits_acknowledged"):
            raise InvalidRequest(
                {"limits_acknowledged": ["confidentiality needs its limits acknowledged: true"]}
            )
        if kind == "data_sharing" and not consent.get("scopes"):
            raise InvalidRequest({"scopes": ["data sharing consent names at least one scope"]})
        if kind != "data_sharing" and consent.get("scopes"):
            raise InvalidRequest({"scopes": ["only a data sharing consent carries scopes"]})
        return [ConsentGranted(client_id=self.client_id, kind=kind, **consent)]

    def revoke_consent(self, kind: str, reason: str, revoked_by: str) -> list[object]:
        self._ensure_open()
        if self.active_consent(kind) is None:
            raise Refused(f"There is no active {kind} consent to revoke.")
        return [ConsentRevoked(self.client_id, kind, reason, revoked_by)]

    def acknowledge_expectations(self, **acknowledgement: Any) -> list[object]:
        self._ensure_open()
        return [ExpectationsAcknowledged(client_id=self.client_id, **acknowledgement)]

    def record_screening(
        self,
        screening_id: str,
        instrument: str,
        items: list[int],
        today: date,
        administered_on: date | None = None,
    ) -> list[object]:
        """Scores the instrument; a positive PHQ-9 item 9 raises a risk flag in the same step."""
        self._ensure_open()
        administered_on = self._care_date("administered_on", administered_on, today)
        result = screening.score(instrument, items)
        recorded = ScreeningRecorded(
            self.client_id,
            screening_id,
            instrument,
            list(items),
            result.total,
            result.severity,
            administered_on.isoformat(),
        )
        risk = screening.risk_score(instrument, items)
        if risk is None:
            return [recorded]
        flag = RiskFlagged(self.client_id, screening_id, instrument, screening.RISK_ITEM, risk)
        return [recorded, flag]

    def assign_therapist(self, therapist_id: str) -> list[object]:
        """Assigning the therapist already assigned records nothing."""
        self._ensure_open()
        if therapist_id == self.therapist_id:
            return []
        return [TherapistAssigned(self.client_id, therapist_id, self.therapist_id)]

    def complete_intake(self) -> list[object]:
        self._ensure_open()
        if self.status == "intake_complete":
            raise Refused("Intake is already complete for this client.")
        missing = self.missing_requirements()
        if missing:
            raise IntakeIncomplete(missing)
        return [IntakeCompleted(self.client_id, str(self.therapist_id))]

    def discharge(
        self,
        ending_reason: str,
        today: date,
        discharged_on: date | None = None,
        reason: str | None = None,
    ) -> list[object]:
        """End treatment for a structured reason, on `discharged_on` (today when not given)."""
        self._ensure_open()
        discharged_on = self._care_date("discharged_on", discharged_on, today)
        return [ClientDischarged(self.client_id, reason, ending_reason, discharged_on.isoformat())]

    def erase(self, erased_by: dict[str, str]) -> list[object]:
        """Erasure is possible in any state, a discharged record included."""
        return [ClientErased(self.client_id, dict(erased_by))]

    def missing_requirements(self) -> list[str]:
        """What completion still waits for, in the order a clinic would work through it."""
        missing = [f"{k}_consent" for k in REQUIRED_CONSENTS if self.active_consent(k) is None]
        if not self.screenings:
            missing.append("baseline_screening")
        if self.therapist_id is None:
            missing.append("therapist")
        return missing

    def active_consent(self, kind: str) -> dict[str, Any] | None:
        active = [c for c in self.consents if c["kind"] == kind and c["status"] == "active"]
        return active[-1] if active else None

    @property
    def in_active_care(self) -> bool:
        return self.status != "discharged" and self.active_consent("treatment") is not None

    @property
    def referred_on(self) -> date | None:
        return clinical_dates.parsed(self.details.get("referred_on"))

    def _care_date(self, name: str, day: date | None, today: date) -> date:
        """The date of a step in the client's care: today when not given, checked against the
        referral day and today."""
        day = day or today
        clinical_dates.check_care_date(name, day, self.referred_on, today)
        return day

    def _ensure_open(self) -> None:
        if self.status == "discharged":
            raise Refused("The client was discharged; their record is closed to changes.")

    def apply(self, event: object) -> None:
        self.version += 1
        getattr(self, f"_apply_{type(event).__name__}")(event)

    def _apply_ClientReferred(self, event: ClientReferred) -> None:
        self.details = {k: v for k, v in asdict(event).items() if k != "client_id"}
        self.status = "referred"

    def _apply_ClientDetailsCorrected(self, event: ClientDetailsCorrected) -> None:
        self.details.update({name: c["after"] for name, c in event.changes.items()})
        if "date_of_birth" in event.changes and self.referred_on is not None:
            born = date.fromisoformat(self.details["date_of_birth"])
            self.details["age_group"] = clinical_dates.age_group(born, self.referred_on)

    def _apply_CulturalContextRecorded(self, event: CulturalContextRecorded) -> None:
        self.cultural_context = {k: v for k, v in asdict(event).items() if k != "client_id"}

    def _apply_ConsentGranted(self, event: ConsentGranted) -> None:
        for earlier in self.consents:
            if earlier["kind"] == event.kind and earlier["status"] == "active":
                earlier["status"] = "superseded"
        grant = {k: v for k, v in asdict(event).items() if k != "client_id"}
        self.consents.append({**grant, "status": "active", "version": self.version})

    def _apply_ConsentRevoked(self, event: ConsentRevoked) -> None:
        consent = self.active_consent(event.kind)
        if consent is not None:
            consent.update(status="revoked", revocation_reason=event.reason)
            consent.update(revoked_by=event.revoked_by, revoked_version=self.version)

    def _apply_ExpectationsAcknowledged(self, event: ExpectationsAcknowledged) -> None:
        for topic in event.topics:
            self.expectations[topic] = dict(event.acknowledged_by)

    def _apply_ScreeningRecorded(self, event: ScreeningRecorded) -> None:
        recorded = {k: v for k, v in asdict(event).items() if k != "client_id"}
        self.screenings.append({**recorded, "risk_flag": False, "version": self.version})

    def _apply_RiskFlagged(self, event: RiskFlagged) -> None:
        for recorded in self.screenings:
            if recorded["screening_id"] == event.screening_id:
                recorded["risk_flag"] = True

    def _apply_TherapistAssigned(self, event: TherapistAssigned) -> None:
        self.therapist_id = event.therapist_id

    def _apply_IntakeCompleted(self, _event: IntakeCompleted) -> None:
        self.status = "intake_complete"

    def _apply_ClientDischarged(self, event: ClientDischarged) -> None:
        self.status, self.discharge_reason = "discharged", event.reason
        self.ending_reason, self.discharged_on = event.ending_reason, event.discharged_on

    def _apply_ClientErased(self, _event: ClientErased) -> None:
        self.status, self.details = "erased", {}

    @classmethod
    def rebuilt(cls, client_id: str, events: list[object]) -> Client:
        if not events:
            raise NotFound(client_id)
        return replayed(cls(client_id), events)
