"""Hand-built, validly encoded events of a client's journey across the three topics.

Personal fields are sealed with a key progress never sees, as they arrive from intake and goals.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from waypoint_devkit.journey import ACCEPTANCE_MILESTONES, GAD7_6, GAD7_12, PHQ9_8, PHQ9_15, SRS_38
from waypoint_shared import catalog
from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import Envelope, decode, encode

START = datetime(2025, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)


class JourneyEvents:
    """Events of one client, each a second after the last, with per-stream versions."""

    def __init__(self, client_id: str | None = None, tenant: str = "clinic-a"):
        self.client_id = client_id or str(uuid.uuid4())
        self.tenant, self.key, self.clock = tenant, os.urandom(32), START
        self.versions: defaultdict[str, int] = defaultdict(int)
        self.records: list[tuple[str, bytes, bytes]] = []  # (service, key, value) as produced

    def make(
        self, service: str, name: str, data: dict[str, Any], stream: str = "", version: int = 1
    ) -> Envelope:
        event_type = f"waypoint.{service}.{name}.v{version}"
        plain = catalog.validate_plain(event_type, {"client_id": self.client_id, **data})
        personal = catalog.lookup(event_type).personal_fields
        place = Place(service, self.tenant, self.client_id, event_type, "")
        sealed = seal_fields(self.key, place, plain, personal)
        stream = stream or (self.client_id if service != "progress" else f"p-{self.client_id}")
        self.versions[stream] += 1
        self.clock += timedelta(seconds=1)
        recorded = RecordedEvent(
            1,
            str(uuid.uuid4()),
            self.tenant,
            stream,
            self.versions[stream],
            self.client_id,
            event_type,
            1,
            self.clock,
            sealed,
            {"correlation_id": "req-1"},
        )
        key, value, _ = encode(recorded, service)
        self.records.append((service, key, value))
        return decode(value)

    def referral(self) -> Envelope:
        names = {"given_name": "Amara", "family_name": "Osei", "date_of_birth": "1992-06-30"}
        return self.make("intake", "client_referred", names)

    def consent(self, kind: str) -> Envelope:
        """A consent signed the moment it is recorded."""
        signed_at = (self.clock + timedelta(seconds=1)).isoformat()
        signed = {"document_version": "v1", "signed_by": "Amara", "signed_at": signed_at}
        return self.make("intake", "consent_granted", {"kind": kind, **signed})

    def consent_revoked(self, kind: str) -> Envelope:
        reason = {"reason": "moving away", "revoked_by": "Amara"}
        return self.make("intake", "consent_revoked", {"kind": kind, **reason})

    def discharge(self) -> Envelope:
        """A discharge dated like a session recorded now: the day after the clock's."""
        ended = {
            "reason": "completed the plan",
            "ending_reason": "completed_treatment",
            "discharged_on": (self.clock + timedelta(days=1)).date().isoformat(),
        }
        return self.make("intake", "client_discharged", ended, version=2)

    def screening(self, instrument: str, items: list[int]) -> Envelope:
        data = {"screening_id": str(uuid.uuid4()), "instrument": instrument, "items": items}
        return self.make(
            "intake", "screening_recorded", {**data, "total": sum(items), "severity": "x"}
        )

    def assigned(self) -> Envelope:
        return self.make("intake", "therapist_assigned", {"therapist_id": str(uuid.uuid4())})

    def intake_completed(self) -> Envelope:
        return self.make("intake", "intake_completed", {"therapist_id": str(uuid.uuid4())})

    def goal(self, name: str, goal_id: str, **data: Any) -> Envelope:
        return self.make("goals", name, {"goal_id": goal_id, **data}, stream=goal_id)

    def goal_proposed(self, goal_id: str) -> Envelope:
        return self.goal(
            "goal_proposed",
            goal_id,
            title="Sleep well",
            modality="cbt",
            priority="high",
            proposed_by={"role": "client", "id": "c-1"},
        )

    def goal_agreed(self, goal_id: str) -> Envelope:
        return self.goal("goal_agreed", goal_id, agreed_by={"role": "therapist", "id": "t-1"})

    def step_planned(self, goal_id: str, step_id: str) -> Envelope:
        return self.goal("action_step_planned", goal_id, step_id=step_id, description="Walk")

    def step_completed(self, goal_id: str, step_id: str) -> Envelope:
        return self.goal("action_step_completed", goal_id, step_id=step_id)

    def later(self, days: int) -> JourneyEvents:
        """Move the clock on by some days (a session is dated the day after the clock's)."""
        self.clock += timedelta(days=days)
        return self

    def session(
        self,
        attended: bool = True,
        reflection: str | None = None,
        date: str | None = None,
        **measures: Sequence[float],
    ) -> Envelope:
        """session(PHQ9=[…], GAD7=[…], SRS=[…], ORS=[…]), dated the day after the clock's unless
        `date` says otherwise: the other events built here carry no clinical date (v1), so they
        happened when recorded, and a session dated their day (00:00 UTC) would come first."""
        day = date or (self.clock + timedelta(days=1)).date().isoformat()
        data = {"session_id": str(uuid.uuid4()), "date": day}
        session = {
            **data,
            "attended": attended,
            "measures": scored(measures),
            "reflection": reflection,
        }
        return self.make("progress", "session_recorded", session)

    def amendment(
        self, session: Envelope, reason: str = "Typed the wrong items", **measures: Sequence[float]
    ) -> Envelope:
        """amendment(session, PHQ9=[…], …): the session's measures as they should have been."""
        data = {"session_id": session.data["session_id"], "measures": scored(measures)}
        return self.make("progress", "session_amended", {**data, "reason": reason})

    def entered_in_error(self, session: Envelope, reason: str = "Another client's") -> Envelope:
        data = {"session_id": session.data["session_id"], "reason": reason}
        return self.make("progress", "session_entered_in_error", data)

    def acceptance_journey(self) -> list[Envelope]:
        """Issue 5's journey: refer, consents, baselines, match, intake, goal, steps, session."""
        goal, first, second = (str(uuid.uuid4()) for _ in range(3))
        return [
            self.referral(),
            self.consent("treatment"),
            self.consent("confidentiality"),
            self.screening("PHQ-9", PHQ9_15),
            self.screening("GAD-7", GAD7_12),
            self.assigned(),
            self.intake_completed(),
            self.goal_proposed(goal),
            self.goal_agreed(goal),
            self.step_planned(goal, first),
            self.step_planned(goal, second),
            self.step_completed(goal, first),
            self.session(PHQ9=PHQ9_8, GAD7=GAD7_6, SRS=SRS_38),
        ]


def scored(measures: dict[str, Sequence[float]]) -> list[dict[str, Any]]:
    """Measures as events carry them, from `PHQ9=[…]`-style names."""
    return [
        {
            "instrument": name.replace("PHQ9", "PHQ-9").replace("GAD7", "GAD-7"),
            "items": items,
            "total": round(sum(items), 1),
            "band": None,
        }
        for name, items in measures.items()
    ]


@pytest.fixture
def journey() -> Callable[..., JourneyEvents]:
    return JourneyEvents


@pytest.fixture
def acceptance_milestones() -> list[str]:
    return list(ACCEPTANCE_MILESTONES)
