"""A therapist on the clinic's roster, one stream per therapist. Its caseload lives on the same
stream (client taken on / handed over), so the stream version guards capacity against races."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from waypoint_intake.domain.errors import AtCapacity, TherapistNotFound
from waypoint_intake.domain.events import changed
from waypoint_intake.domain.replay import replayed


@dataclass(frozen=True)
class TherapistRegistered:
    therapist_id: str
    name: str
    capacity: int
    gender: str | None = None
    languages: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    accepting_clients: bool = True


@dataclass(frozen=True)
class TherapistUpdated:
    therapist_id: str
    changed_fields: list[str]
    changes: dict[str, dict[str, Any]]  # {field: {"before": …, "after": …}}


@dataclass(frozen=True)
class CaseloadChange:
    """A client joining or leaving a therapist's caseload, recorded on the therapist's stream."""

    therapist_id: str
    client_id: str


@dataclass(frozen=True)
class ClientTakenOn(CaseloadChange):
    pass


@dataclass(frozen=True)
class ClientHandedOver(CaseloadChange):
    pass


THERAPIST_EVENTS: tuple[type, ...] = (
    TherapistRegistered,
    TherapistUpdated,
    ClientTakenOn,
    ClientHandedOver,
)


@dataclass
class Therapist:
    therapist_id: str
    version: int = 0
    profile: dict[str, Any] = field(default_factory=dict)
    caseload: list[str] = field(default_factory=list)

    @staticmethod
    def register(therapist_id: str, **profile: Any) -> TherapistRegistered:
        return TherapistRegistered(therapist_id=therapist_id, **profile)

    @property
    def free_places(self) -> int:
        capacity: int = self.profile["capacity"]
        return max(capacity - len(self.caseload), 0)

    def update(self, updates: dict[str, Any]) -> list[object]:
        changes = changed(self.profile, updates)
        if not changes:
            return []
        return [TherapistUpdated(self.therapist_id, list(changes), changes)]

    def take_on(self, client_id: str) -> list[object]:
        if not self.profile["accepting_clients"]:
            raise AtCapacity(f"Therapist {self.therapist_id} accepts no new clients.")
        if self.free_places == 0:
            raise AtCapacity(f"Therapist {self.therapist_id} has no free place.")
        return [ClientTakenOn(self.therapist_id, client_id)]

    def hand_over(self, client_id: str) -> list[object]:
        if client_id not in self.caseload:
            return []
        return [ClientHandedOver(self.therapist_id, client_id)]

    def apply(self, event: object) -> None:
        self.version += 1
        getattr(self, f"_apply_{type(event).__name__}")(event)

    def _apply_TherapistRegistered(self, event: TherapistRegistered) -> None:
        self.profile = {k: v for k, v in asdict(event).items() if k != "therapist_id"}

    def _apply_TherapistUpdated(self, event: TherapistUpdated) -> None:
        self.profile.update({name: c["after"] for name, c in event.changes.items()})

    def _apply_ClientTakenOn(self, event: ClientTakenOn) -> None:
        self.caseload.append(event.client_id)

    def _apply_ClientHandedOver(self, event: ClientHandedOver) -> None:
        self.caseload.remove(event.client_id)

    @classmethod
    def rebuilt(cls, therapist_id: str, events: list[object]) -> Therapist:
        if not events:
            raise TherapistNotFound(therapist_id)
        return replayed(cls(therapist_id), events)
