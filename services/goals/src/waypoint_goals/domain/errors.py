"""What goals' commands and queries refuse, as exceptions the web layer maps to problem+json."""

from __future__ import annotations

from typing import Any


class NotFound(Exception):
    """No such goal for this tenant."""


class StepNotFound(Exception):
    """The goal has no such step."""


class NothingChanged(Exception):
    """A revision whose every value equals the current one."""


class Refused(Exception):
    """A command the goal's state does not allow (409); `extra` goes into the problem body."""

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail, self.extra = detail, extra


class ClientNotKnownYet(Exception):
    """Goals has not yet consumed the client's referral from intake."""


class ClientNotEligible(Exception):
    """Intake said something that stops goal work for this client (409, saying why)."""

    def __init__(self, client_id: str, reason: str, detail: str):
        super().__init__(detail)
        self.client_id, self.reason, self.detail = client_id, reason, detail


class ClientNotFound(Exception):
    """Goals has heard nothing of this client: no referral, no goal."""


class StayingWellPlanNotFound(Exception):
    """No staying-well plan has been agreed for this client in this tenant."""
