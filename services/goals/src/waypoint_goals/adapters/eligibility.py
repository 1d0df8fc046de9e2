"""The eligibility view's SQL: goals' local knowledge of intake's clients. The events that feed
it are applied in `service_layer/projector.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from waypoint_goals.adapters.tables import ELIGIBILITY_FACTS, eligibility
from waypoint_goals.domain.eligibility import ClientEligibility


def add_client(conn: Connection, tenant_id: str, client_id: str, referred_at: datetime) -> None:
    conn.execute(
        insert(eligibility).values(
            tenant_id=tenant_id, client_id=client_id, referred_at=referred_at
        )
    )


def record(conn: Connection, tenant_id: str, client_id: str, **facts: Any) -> None:
    """Set facts of a referred client; a client never referred has no row and nothing changes."""
    conn.execute(update(eligibility).where(*_of_client(tenant_id, client_id)).values(**facts))


def forget_client(conn: Connection, tenant_id: str, client_id: str) -> None:
    conn.execute(delete(eligibility).where(*_of_client(tenant_id, client_id)))


def knows(conn: Connection, tenant_id: str, client_id: str) -> bool:
    """Whether the view has a row of the client in the tenant."""
    query = select(eligibility.c.client_id).where(*_of_client(tenant_id, client_id))
    return conn.execute(query).first() is not None


def find(conn: Connection, tenant_id: str, client_id: str) -> ClientEligibility | None:
    """What goals knows of the client, or None before its referral has arrived."""
    columns = [eligibility.c[name] for name in ELIGIBILITY_FACTS]
    query = select(*columns).where(*_of_client(tenant_id, client_id))
    row = conn.execute(query).first()
    return None if row is None else ClientEligibility(client_id, **row._asdict())


def _of_client(tenant_id: str, client_id: str) -> tuple[Any, ...]:
    return eligibility.c.tenant_id == tenant_id, eligibility.c.client_id == client_id
