"""The client record: referral and the details the clinic keeps about a client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NotFound(Exception):
    """No such client for this tenant."""


@dataclass(frozen=True)
class ClientReferred:
    client_id: str
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


EVENTS: tuple[type, ...] = (ClientReferred,)


@dataclass
class Client:
    """A client rebuilt from its events; `version` is the stream version."""

    client_id: str
    version: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "unknown"

    @staticmethod
    def refer(client_id: str, **details: Any) -> ClientReferred:
        return ClientReferred(client_id=client_id, **details)

    def apply(self, event: object) -> None:
        getattr(self, f"_apply_{type(event).__name__}")(event)
        self.version += 1

    def _apply_ClientReferred(self, event: ClientReferred) -> None:
        self.details = {k: v for k, v in vars(event).items() if k != "client_id"}
        self.status = "referred"

    @classmethod
    def rebuilt(cls, client_id: str, events: list[object]) -> Client:
        if not events:
            raise NotFound(client_id)
        client = cls(client_id)
        for event in events:
            client.apply(event)
        return client
