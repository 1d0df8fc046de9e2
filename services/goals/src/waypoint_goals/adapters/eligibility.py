"""The eligibility view: goals' local knowledge of intake's clients, fed by intake's events."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from waypoint_goals.adapters.tables import eligibility
from waypoint_shared.envelope import Envelope


def client_referred(conn: Connection, event: Envelope) -> None:
    conn.execute(
        insert(eligibility).values(
            tenant_id=event.tenant_id, client_id=event.client_id, referred_at=event.time
        )
    )


HANDLERS = {"waypoint.intake.client_referred.v1": client_referred}


def handle(conn: Connection, event: Envelope) -> None:
    """Apply one intake event; events this view does not need are ignored."""
    handler = HANDLERS.get(event.type)
    if handler is not None:
        handler(conn, event)


def is_known(conn: Connection, tenant_id: str, client_id: str) -> bool:
    query = select(eligibility.c.client_id).where(
        eligibility.c.tenant_id == tenant_id, eligibility.c.client_id == client_id
    )
    return conn.execute(query).first() is not None
