"""Whether a client's goals may move forward, from what intake has told goals about the client.

A treatment consent that was granted and later revoked blocks, and so does a discharge (but for
follow-up check-ins on achieved goals, `domain/staying_well.py`). A consent not granted yet does
not: goal work may start while intake is still collecting consents (the suite's journey proposes
goals alongside intake), and the clinic's own process governs that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from waypoint_goals.domain.errors import ClientNotEligible, ClientNotKnownYet


@dataclass(frozen=True)
class ClientEligibility:
    client_id: str
    treatment_consent: str | None = None  # None (never granted), "granted" or "revoked"
    intake_completed_at: datetime | None = None
    therapist_id: str | None = None
    discharged_at: datetime | None = None

    def ensure_goal_work_may_continue(self) -> None:
        if self.discharged_at is not None:
            raise ClientNotEligible(
                self.client_id, "discharged", "The client has been discharged by intake."
            )
        self.ensure_consent_holds()

    def ensure_consent_holds(self) -> None:
        if self.treatment_consent == "revoked":
            raise ClientNotEligible(
                self.client_id,
                "treatment_consent_revoked",
                "The client's treatment consent has been revoked.",
            )


def ensure_known(eligibility: ClientEligibility | None, client_id: str) -> ClientEligibility:
    if eligibility is None:
        raise ClientNotKnownYet(client_id)
    return eligibility
