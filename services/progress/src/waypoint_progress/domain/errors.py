"""What progress's commands and queries refuse, as exceptions the web layer maps to problem+json."""

from __future__ import annotations


class SessionNotFound(Exception):
    """No such session of this client for this tenant."""


class SessionEnteredInErrorBefore(Exception):
    """The session was marked entered in error: it can be neither amended nor marked again."""


class AlertNotFound(Exception):
    """No such alert of this client for this tenant."""


class AlreadyAcknowledged(Exception):
    """The alert was acknowledged before."""


class ClientNotKnownYet(Exception):
    """Progress has not yet received the client's referral from intake (in this tenant)."""


class ClientNotEligible(Exception):
    """Intake said something that stops new sessions for this client (409, saying why)."""

    def __init__(self, client_id: str, reason: str, detail: str):
        super().__init__(detail)
        self.client_id, self.reason, self.detail = client_id, reason, detail


class ClientNotSeen(Exception):
    """Progress has no event of this client (yet)."""


class InvalidSession(Exception):
    """A session that cannot be clinically true given what progress knows of the client (422
    naming the field)."""

    def __init__(self, field: str, problems: list[str]):
        super().__init__("; ".join(problems))
        self.field, self.problems = field, problems
