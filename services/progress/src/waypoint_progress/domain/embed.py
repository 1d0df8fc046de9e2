"""The rules of an embed grant: what a short-lived link to one client's timeline page allows.

A grant is minted by a caller holding `progress:read` for one client of its tenant, for one
view: `client` (the client's own page: scores and milestones) or `clinician` (the same, with the
alerts). It lives `ttl_seconds` (DEFAULT_TTL unless asked, at most MAX_TTL) and is read-only: the
page is all it opens. It admits only its own client in its own tenant; for any other it is as if
that client did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VIEWS = ("client", "clinician")
MIN_TTL, DEFAULT_TTL, MAX_TTL = 30, 300, 900  # seconds
KINDS_SHOWN = {"client": ("milestone",), "clinician": ("milestone", "alert")}


@dataclass(frozen=True)
class EmbedGrant:
    tenant: str
    client_id: str
    view: str
    subject: str  # who minted it (the platform's token subject), for the read audit
    expires_at: int  # seconds since the epoch

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, not {self.view!r}")

    def admits(self, client_id: str) -> bool:
        """Whether the grant opens this client's page: its own client only (looked up in its own
        tenant alone, so another tenant's client of the same id is never reached)."""
        return self.client_id == client_id

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of timeline entry the page shows: alerts only to a clinician."""
        return KINDS_SHOWN[self.view]

    def shown(self, entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The milestones (and, for a clinician, alerts) of a timeline the page may show."""
        return [e for e in entries if e["kind"] in self.kinds]


def grant(tenant: str, client_id: str, subject: str, view: str, ttl: int, now: float) -> EmbedGrant:
    """A grant for `ttl` seconds from `now`; a ttl outside MIN_TTL..MAX_TTL is refused."""
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValueError(f"ttl_seconds must be {MIN_TTL}..{MAX_TTL}, not {ttl}")
    return EmbedGrant(tenant, client_id, view, subject, int(now) + ttl)
