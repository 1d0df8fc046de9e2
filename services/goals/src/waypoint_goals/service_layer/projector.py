"""Goals' inbound events: intake's events applied to the eligibility view (docs/architecture.md §5),
and progress's recorded sessions checked against goal targets (`handlers.meet_targets`).

Only `session_recorded` is read from progress's topic, and only a session the client attended that
carries measures: its scores may meet an agreed goal's target.

Intake keys its events by client id, so one client's events arrive in order; an event for a
client whose referral never arrived (dead-lettered) updates nothing. `client_erased` makes goals
forget the client (keys, view rows, plan index, stored replies), and no later event of an erased
client — a replay, a re-driven dead letter — brings a row back. The SQL is in
`adapters/eligibility.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility, plan
from waypoint_goals.service_layer.handlers import Goals, RecordedSession, meet_targets
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


# By service and name, whatever the version: consumed events arrive upcast to the newest one.
HANDLERS: dict[str, Callable[[Connection, Envelope], None]] = {
    f"waypoint.intake.{handler.__name__}": handler
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


SESSION_RECORDED = "waypoint.progress.session_recorded"


def unversioned(event_type: str) -> str:
    """`waypoint.intake.client_referred.v2` → `waypoint.intake.client_referred`."""
    return event_type.rsplit(".", 1)[0]


def handle(conn: Connection, event: Envelope) -> None:
    """Apply one intake event; events this view does not need, or of an erased client, are
    ignored."""
    handler = HANDLERS.get(unversioned(event.type))
    if handler is not None and not erasure.is_erased(conn, event.tenant_id, event.client_id):
        handler(conn, event)


def handler(goals: Goals) -> Callable[[Connection, Envelope], None]:
    """The consumer's handler: intake's events as `handle` applies them, and progress's recorded
    sessions against the client's goal targets."""

    def handle_with_targets(conn: Connection, event: Envelope) -> None:
        if unversioned(event.type) != SESSION_RECORDED:
            handle(conn, event)
        elif not erasure.is_erased(conn, event.tenant_id, event.client_id):
            session_recorded(goals, conn, event)

    return handle_with_targets


def session_recorded(goals: Goals, conn: Connection, event: Envelope) -> None:
    """An attended session's scores, checked against the client's goal targets."""
    if not event.data.get("attended") or not event.data.get("measures"):
        return
    session = RecordedSession(
        event.tenant_id,
        event.client_id,
        str(event.data["session_id"]),
        str(event.data["date"]),
        {m["instrument"]: float(m["total"]) for m in event.data["measures"]},
    )
    meet_targets(goals, conn, session, caused_by(event))


def caused_by(event: Envelope) -> dict[str, Any]:
    """The write audit trail of what goals records on consuming an event: that event."""
    return {
        "actor": {"system": "goals", "person": None},
        "correlation_id": event.correlation_id or event.event_id,
        "causation_id": event.event_id,
    }


def knows(conn: Connection, tenant_id: str, client_id: str) -> bool:
    """Whether goals has a record of the client in the tenant: referred, or already erased."""
    return eligibility.knows(conn, tenant_id, client_id) or erasure.is_erased(
        conn, tenant_id, client_id
    )
