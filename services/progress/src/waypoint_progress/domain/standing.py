"""Whether progress may take a client's sessions, from what intake has told progress of them.

Progress takes sessions only for a client whose referral it has received in the caller's tenant
(the two services are eventually consistent: until then "not known yet", retry shortly). A
discharge, or a treatment consent granted and later revoked, stops new sessions; acknowledging an
alert already raised stays possible, so the care it asked for can be recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from waypoint_progress.domain.errors import ClientNotEligible, ClientNotKnownYet
from waypoint_progress.domain.sources import SourceEvent, source_order

STANDING_EVENTS = ("client_referred", "consent_granted", "consent_revoked", "client_discharged")


@dataclass(frozen=True)
class ClientStanding:
    client_id: str
    referred: bool = False
    treatment_consent: str | None = None  # None (never granted), "granted" or "revoked"
    discharged: bool = False

    @classmethod
    def from_intake(cls, client_id: str, events: Iterable[SourceEvent]) -> ClientStanding:
        """The standing intake's events (of one client and tenant) leave, in source order."""
        standing = cls(client_id)
        for event in sorted(events, key=source_order):
            if event.service == "intake":
                standing = standing._after(event)
        return standing

    def _after(self, event: SourceEvent) -> ClientStanding:
        treatment = event.facts.get("kind") == "treatment"
        if event.name == "client_referred":
            return replace(self, referred=True)
        if event.name == "client_discharged":
            return replace(self, discharged=True)
        if event.name == "consent_granted" and treatment:
            return replace(self, treatment_consent="granted")
        if event.name == "consent_revoked" and treatment:
            return replace(self, treatment_consent="revoked")
        return self

    def ensure_known(self) -> None:
        if not self.referred:
            raise ClientNotKnownYet(self.client_id)

    def ensure_sessions_may_be_recorded(self) -> None:
        self.ensure_known()
        if self.discharged:
            raise ClientNotEligible(
                self.client_id, "discharged", "The client has been discharged by intake."
            )
        if self.treatment_consent == "revoked":
            raise ClientNotEligible(
                self.client_id,
                "treatment_consent_revoked",
                "The client's treatment consent has been revoked.",
            )
