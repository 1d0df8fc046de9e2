"""The plan's index: a client's goal ids, written in the transaction of each goal's proposal."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from waypoint_goals.adapters.tables import client_goals
from waypoint_shared.eventstore.store import RecordedEvent


def add_goal(conn: Connection, proposed: RecordedEvent) -> None:
    conn.execute(
        insert(client_goals).values(
            tenant_id=proposed.tenant_id,
            goal_id=proposed.stream_id,
            client_id=proposed.client_id,
            proposed_at=proposed.occurred_at,
            position=proposed.position,
        )
    )


def goal_ids(
    conn: Connection,
    tenant_id: str,
    client_id: str,
    *,
    after: int = 0,
    limit: int,
    as_of: datetime | None = None,
) -> list[tuple[int, str]]:
    """(position, goal id) of the client's goals in the order they were proposed."""
    query = select(client_goals.c.position, client_goals.c.goal_id).where(
        client_goals.c.tenant_id == tenant_id,
        client_goals.c.client_id == client_id,
        client_goals.c.position > after,
    )
    if as_of is not None:
        query = query.where(client_goals.c.proposed_at <= as_of.astimezone(UTC))
    query = query.order_by(client_goals.c.position).limit(limit)
    return [(row.position, row.goal_id) for row in conn.execute(query)]


def forget_client(conn: Connection, tenant_id: str, client_id: str) -> None:
    """An erased client's goals leave the plan (their streams stay, sealed under a lost key)."""
    conn.execute(
        delete(client_goals).where(
            client_goals.c.tenant_id == tenant_id, client_goals.c.client_id == client_id
        )
    )
