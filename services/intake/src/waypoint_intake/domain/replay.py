"""Rebuilding a record from its stream: every recorded event applied in order."""

from __future__ import annotations

from typing import Protocol, TypeVar


class Applies(Protocol):
    def apply(self, event: object) -> None: ...


A = TypeVar("A", bound=Applies)


def replayed(record: A, events: list[object]) -> A:
    """The record after applying each of its events in stream order."""
    for event in events:
        record.apply(event)
    return record
