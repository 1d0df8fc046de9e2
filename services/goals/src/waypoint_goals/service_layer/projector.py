"""Goals' inbound events: intake's events applied to the eligibility view (docs/architecture.md §5).

Intake keys its events by client id, so one client's events arrive in order; an event for a
client whose referral never arrived (dead-lettered) updates nothing. `client_erased` makes goals
forget the client (keys, view rows, plan index, stored replies), and no later event of an erased
client — a replay, a re-driven dead letter — brings a row back. The SQL is in
`adapters/eligibility.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility, plan
from waypoint_shared import catalog
from waypoint_shared.http import erasure
from waypoint_shared.messaging.envelope import Envelope


def client_referred(conn: Connection, event: Envelope) -> None:
    eligibility.add_client(conn, event.tenant_id, event.client_id, event.time)


def consent_granted(conn: Connection, event: Envelope) -> None:
    if event.data.get("kind") == "treatment":
        eligibility.record(conn, event.tenant_id, event.client_id, treatment_consent="granted")


def consent_revoked(conn: Connection, event: Envelope) -> None:
    if event.data.get("kind") == "treatment":
        eligibility.record(conn, event.tenant_id, event.client_id, treatment_consent="revoked")


def therapist_assigned(conn: Connection, event: Envelope) -> None:
    therapist_id = str(event.data["therapist_id"])
    eligibility.record(conn, event.tenant_id, event.client_id, therapist_id=therapist_id)


def intake_completed(conn: Connection, event: Envelope) -> None:
    therapist_id = str(event.data["therapist_id"])
    eligibility.record(
        conn,
        event.tenant_id,
        event.client_id,
        intake_completed_at=event.time,
        therapist_id=therapist_id,
    )


def client_discharged(conn: Connection, event: Envelope) -> None:
    eligibility.record(conn, event.tenant_id, event.client_id, discharged_at=event.time)


def client_erased(conn: Connection, event: Envelope) -> None:
    eligibility.forget_client(conn, event.tenant_id, event.client_id)
    plan.forget_client(conn, event.tenant_id, event.client_id)
    erasure.forget_client(conn, event.tenant_id, event.client_id)


HANDLERS: dict[str, Callable[[Connection, Envelope], None]] = {
    catalog.latest("intake", handler.__name__).type: handler  # decode upcasts to the newest
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
    return eligibility.knows(conn, tenant_id, client_id) or erasure.is_erased(
        conn, tenant_id, client_id
    )
