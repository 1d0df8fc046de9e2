"""The eligibility view: goals' local knowledge of intake's clients, fed by intake's events.

Intake keys its events by client id, so one client's events arrive in order; an event for a
client whose referral never arrived (dead-lettered) updates nothing. `client_erased` makes goals
forget the client (keys, view rows, plan index, stored replies), and no later event of an erased
client — a replay, a re-driven dead letter — brings a row back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from waypoint_goals.adapters import plan
from waypoint_goals.adapters.tables import ELIGIBILITY_FACTS, eligibility
from waypoint_goals.domain.eligibility import ClientEligibility
from waypoint_shared.http import erasure
from waypoint_shared.messaging.envelope import Envelope


def client_referred(conn: Connection, event: Envelope) -> None:
    conn.execute(
        insert(eligibility).values(
            tenant_id=event.tenant_id, client_id=event.client_id, referred_at=event.time
        )
    )


def consent_granted(conn: Connection, event: Envelope) -> None:
    if event.data.get("kind") == "treatment":
        _record(conn, event, treatment_consent="granted")


def consent_revoked(conn: Connection, event: Envelope) -> None:
    if event.data.get("kind") == "treatment":
        _record(conn, event, treatment_consent="revoked")


def therapist_assigned(conn: Connection, event: Envelope) -> None:
    _record(conn, event, therapist_id=str(event.data["therapist_id"]))


def intake_completed(conn: Connection, event: Envelope) -> None:
    therapist_id = str(event.data["therapist_id"])
    _record(conn, event, intake_completed_at=event.time, therapist_id=therapist_id)


def client_discharged(conn: Connection, event: Envelope) -> None:
    _record(conn, event, discharged_at=event.time)


def client_erased(conn: Connection, event: Envelope) -> None:
    conn.execute(delete(eligibility).where(*_of_client(event)))
    plan.forget_client(conn, event.tenant_id, event.client_id)
    erasure.forget_client(conn, event.tenant_id, event.client_id)


def _record(conn: Connection, event: Envelope, **facts: Any) -> None:
    conn.execute(update(eligibility).where(*_of_client(event)).values(**facts))


def _of_client(event: Envelope) -> tuple[Any, ...]:
    return eligibility.c.tenant_id == event.tenant_id, eligibility.c.client_id == event.client_id


HANDLERS = {
    f"waypoint.intake.{handler.__name__}.v1": handler
    for handler in (
        client_referred,
        consent_granted,
        consent_revoked,
        therapist_assigned,
        intake_completed,
        client_discharged,
        client_erased,
    )
}


def handle(conn: Connection, event: Envelope) -> None:
    """Apply one intake event; events this view does not need, or of an erased client, are
    ignored."""
    handler = HANDLERS.get(event.type)
    if handler is not None and not erasure.is_erased(conn, event.tenant_id, event.client_id):
        handler(conn, event)


def knows(conn: Connection, tenant_id: str, client_id: str) -> bool:
    """Whether goals has a record of the client in the tenant: referred, or already erased."""
    query = select(eligibility.c.client_id).where(
        eligibility.c.tenant_id == tenant_id, eligibility.c.client_id == client_id
    )
    return conn.execute(query).first() is not None or erasure.is_erased(conn, tenant_id, client_id)


def find(conn: Connection, tenant_id: str, client_id: str) -> ClientEligibility | None:
    """What goals knows of the client, or None before its referral has arrived."""
    columns = [eligibility.c[name] for name in ELIGIBILITY_FACTS]
    query = select(*columns).where(
        eligibility.c.tenant_id == tenant_id, eligibility.c.client_id == client_id
    )
    row = conn.execute(query).first()
    return None if row is None else ClientEligibility(client_id, **row._asdict())
