"""What intake's commands refuse, as exceptions the web layer maps to problem+json."""

from __future__ import annotations


class NotFound(Exception):
    """No such client for this tenant."""


class TherapistNotFound(Exception):
    """No such therapist on this tenant's roster."""


class InvalidRequest(Exception):
    """A request the rules cannot accept as stated (422), with messages by field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class ContradictsRecord(InvalidRequest):
    """A request whose values are at odds with what the record already holds, such as a
    screening dated before the referral (409: the record's state), with messages by field."""


class IntakeIncomplete(Exception):
    """Completion was asked for while requirements are missing (409: the record's state)."""

    def __init__(self, missing: list[str]):
        super().__init__(", ".join(missing))
        self.missing = missing


class Refused(Exception):
    """A command that contradicts the record's current state (409); the message says why."""


class AtCapacity(Refused):
    """The therapist has no free place or accepts no new clients."""
