"""Goals' command handlers: load, decide, record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility
from waypoint_goals.domain.goal import EVENTS, ClientNotKnownYet, Goal
from waypoint_shared.repository import EventSourcedRepository
from waypoint_shared.store import EventStore, RecordedEvent

SERVICE = "goals"


@dataclass(frozen=True)
class Goals:
    repository: EventSourcedRepository

    @classmethod
    def create(cls, store: EventStore, keys: Any) -> Goals:
        return cls(EventSourcedRepository(SERVICE, store, keys, EVENTS))


def propose_goal(
    goals: Goals,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    details: dict[str, Any],
    metadata: dict[str, Any],
) -> RecordedEvent:
    """Propose a goal for a client that intake has referred."""
    if not eligibility.is_known(conn, tenant_id, client_id):
        raise ClientNotKnownYet(client_id)
    goal_id = str(uuid.uuid4())
    event = Goal.propose(goal_id, client_id, **details)
    [recorded] = goals.repository.record(
        conn,
        tenant_id=tenant_id,
        stream_id=goal_id,
        client_id=client_id,
        expected_version=0,
        events=[event],
        metadata=metadata,
    )
    return recorded


def load_goal(
    goals: Goals, conn: Connection, tenant_id: str, goal_id: str, as_of: datetime | None = None
) -> Goal:
    events = goals.repository.replay(conn, tenant_id, goal_id, until=as_of)
    return Goal.rebuilt(goal_id, [e for e, _ in events])
