"""Whether progress may take a client's sessions, from what intake has told progress of them.

Progress takes sessions only for a client whose referral it has received in the caller's tenant
(the two services are eventually consistent: until then "not known yet", retry shortly). A
discharge, or a treatment consent granted and later revoked, stops new sessions; acknowledging an
alert already raised stays possible, so the care it asked for can be recorded.

The referral also says when the client was referred (`referred_on`: no session is dated before it)
and the client's age group (`age_group`: the ORS clinical cut-off depends on it). Referrals from
before intake published them carry neither: their sessions have no lower bound on their date, and
the client counts as an adult.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from waypoint_progress.domain.errors import ClientNotEligible, ClientNotKnownYet, InvalidSession
from waypoint_progress.domain.sessions import referral_problems
from waypoint_progress.domain.sources import SourceEvent, source_order

STANDING_EVENTS = ("client_referred", "consent_granted", "consent_revoked", "client_discharged")


@dataclass(frozen=True)
class ClientStanding:
    client_id: str
    referred: bool = False
    treatment_consent: str | None = None  # None (never granted), "granted" or "revoked"
    discharged: bool = False
    referred_on: date | None = None  # None for a referral that did not say (no bound)
    age_group: str | None = None  # "child", "adolescent", "adult"; None counts as an adult

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
            return self._referred(event.facts.get("referred_on"), event.facts.get("age_group"))
        if event.name == "client_discharged":
            return replace(self, discharged=True)
        if event.name == "consent_granted" and treatment:
            return replace(self, treatment_consent="granted")
        if event.name == "consent_revoked" and treatment:
            return replace(self, treatment_consent="revoked")
        return self

    def _referred(self, referred_on: str | None, age_group: str | None) -> ClientStanding:
        day = date.fromisoformat(referred_on) if referred_on else None
        return replace(self, referred=True, referred_on=day, age_group=age_group)

    def ensure_known(self) -> None:
        if not self.referred:
            raise ClientNotKnownYet(self.client_id)

    def ensure_sessions_may_be_recorded(self, day: date | None = None) -> None:
        """A session (held on `day`, when given) may be recorded for the client, or why not."""
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
        problems = referral_problems(day, self.referred_on) if day else []
        if problems:
            raise InvalidSession("date", problems)


def age_group_of(events: Iterable[SourceEvent]) -> str | None:
    """The age group intake gave at the client's referral (None: not said, counted as adult)."""
    return ClientStanding.from_intake("", events).age_group
