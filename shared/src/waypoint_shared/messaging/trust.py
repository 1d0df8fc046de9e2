"""Which consumed records a service trusts, checked before any handler sees them.

- **Origin.** The topic (`<prefix>waypoint.<service>.events`), the CloudEvent `source`
  (`/waypoint/<service>`) and the service named in the `type` (`waypoint.<service>.<event>.vN`)
  must all name the same service. The broker's ACLs let only a service's principal write its
  topic; this check makes a record written on the wrong topic, or claiming to be another
  service's event, change nothing.
- **Known client.** A type that destroys or rewrites what consumers hold about an existing client
  (`NEEDS_KNOWN_CLIENT`) is applied only to a client the consuming service has a record of in
  that tenant. Each consuming service supplies that look-up (`KnownClient`); it runs against the
  database as the events before it in the same batch left it, so a referral and its erasure may
  arrive together.

A record failing a check is dead-lettered with a `dlq.error` that starts with the check's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from waypoint_shared.messaging.envelope import Envelope

ORIGIN_CHECK = "origin check"
KNOWN_CLIENT_CHECK = "known-client check"
EVENT_TOPIC = re.compile(r"waypoint\.([a-z]+)\.events$")

# Intake's events that end or rewrite what every consumer holds about a client: erasure destroys
# it, a correction rewrites it, a revoked consent and a discharge stop the client's treatment.
NEEDS_KNOWN_CLIENT = frozenset(
    {
        "waypoint.intake.client_erased.v1",
        "waypoint.intake.client_details_corrected.v1",
        "waypoint.intake.consent_revoked.v1",
        "waypoint.intake.client_discharged.v1",
        "waypoint.intake.client_discharged.v2",
    }
)

KnownClient = Callable[[Connection, str, str], bool]  # (conn, tenant id, client id) -> known?
HandleAll = Callable[[Connection, list[Envelope]], None]
Refused = tuple[Envelope, str]  # the event and the failed check's message


def no_client_known(conn: Connection, tenant_id: str, client_id: str) -> bool:
    """For a consumer that keeps no clients: every type in NEEDS_KNOWN_CLIENT is refused."""
    return False


def service_of_topic(topic: str) -> str | None:
    found = EVENT_TOPIC.search(topic)
    return found.group(1) if found else None


def origin_error(topic: str, event: Envelope) -> str | None:
    """Why the record's topic, source and type do not agree on its service, or None."""
    from_topic = service_of_topic(topic)
    from_type = event.type.split(".")[1] if event.type.count(".") >= 3 else None
    if from_topic == event.source_service == from_type and from_topic is not None:
        return None
    return (
        f"{ORIGIN_CHECK} failed: topic {topic} names {from_topic or 'no service'}, "
        f"source names {event.source_service}, type {event.type} names {from_type}"
    )


def client_error(conn: Connection, event: Envelope, known_client: KnownClient) -> str | None:
    """Why the event may not be applied to its client, or None."""
    if event.type not in NEEDS_KNOWN_CLIENT:
        return None
    if known_client(conn, event.tenant_id, event.client_id):
        return None
    return (
        f"{KNOWN_CLIENT_CHECK} failed: {event.type} for client {event.client_id} "
        f"of tenant {event.tenant_id}, of whom this service has no record"
    )


def apply_checked(
    conn: Connection,
    events: Sequence[Envelope],
    handle_all: HandleAll,
    known_client: KnownClient,
) -> list[Refused]:
    """Hand the events to handle_all in order; each event that needs a known client is checked
    once the events before it are applied. Returns the refused events, which nothing applied."""
    refused: list[Refused] = []
    pending: list[Envelope] = []
    for event in events:
        if event.type in NEEDS_KNOWN_CLIENT and pending:
            handle_all(conn, pending)
            pending = []
        error = client_error(conn, event, known_client)
        if error is None:
            pending.append(event)
        else:
            refused.append((event, error))
    if pending:
        handle_all(conn, pending)
    return refused
