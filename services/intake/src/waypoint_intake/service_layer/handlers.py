"""Intake's command handlers for the client record: load, decide, record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_intake.adapters import indexes
from waypoint_intake.domain.client import Client
from waypoint_intake.domain.events import CLIENT_EVENTS, ClientReferred
from waypoint_intake.domain.therapist import THERAPIST_EVENTS
from waypoint_shared.crypto.sealing import PersonalDataKeys
from waypoint_shared.eventstore.repository import (
    Append,
    ConcurrencyConflict,
    EventSourcedRepository,
    EventStore,
)

SERVICE = "intake"
Decision = Callable[[Client], list[object]]


@dataclass(frozen=True)
class Intake:
    """Intake's dependencies, injected once by bootstrap."""

    repository: EventSourcedRepository
    external_id_key: bytes

    @classmethod
    def create(cls, store: EventStore, keys: PersonalDataKeys, external_id_key: bytes) -> Intake:
        classes = (*CLIENT_EVENTS, *THERAPIST_EVENTS)
        return cls(EventSourcedRepository(SERVICE, store, keys, classes), external_id_key)

    def external_id_hash(self, tenant_id: str, external_id: str) -> str:
        return indexes.external_id_hash(self.external_id_key, tenant_id, external_id)


@dataclass(frozen=True)
class ClientCommand:
    """Who asks what of which client; expected_version comes from If-Match."""

    tenant_id: str
    client_id: str
    metadata: dict[str, Any]
    expected_version: int | None = None


def today() -> date:
    """The current day in UTC: what an undated clinical step is dated, and what bounds dates."""
    return datetime.now(UTC).date()


def new_client(details: dict[str, Any]) -> tuple[ClientReferred, Client]:
    """Decide a referral: the new client's event and the client it makes (no database, so it
    runs before the write transaction, as `change_client` applies what it records)."""
    referral = Client.refer(str(uuid.uuid4()), today(), **details)
    return referral, Client.rebuilt(referral.client_id, [referral])


def refer_client(
    intake: Intake,
    conn: Connection,
    tenant_id: str,
    referral: ClientReferred,
    metadata: dict[str, Any],
) -> None:
    """Record a referral; an external id already known for this tenant is refused."""
    client_id = referral.client_id
    if referral.external_id:
        digest = intake.external_id_hash(tenant_id, referral.external_id)
        indexes.claim_external_id(conn, tenant_id, digest, client_id)
    append = Append(tenant_id, client_id, client_id, 0, [referral], metadata)
    [recorded] = intake.repository.record(conn, append)
    indexes.index_client(conn, tenant_id, client_id, recorded.position)


def load_client(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str, as_of: datetime | None = None
) -> Client:
    events = intake.repository.replay(conn, tenant_id, client_id, until=as_of)
    return Client.rebuilt(client_id, [e for e, _ in events])


def correct_details(
    intake: Intake, conn: Connection, cmd: ClientCommand, corrections: dict[str, Any]
) -> Client:
    def decide(client: Client) -> list[object]:
        corrected = client.correct(corrections)
        if corrected and "external_id" in corrected[0].changes:
            _move_external_id(intake, conn, cmd, corrected[0].changes["external_id"])
        return list(corrected)

    return change_client(intake, conn, cmd, decide)


def _move_external_id(
    intake: Intake, conn: Connection, cmd: ClientCommand, change: dict[str, Any]
) -> None:
    if change["after"]:
        digest = intake.external_id_hash(cmd.tenant_id, change["after"])
        indexes.claim_external_id(conn, cmd.tenant_id, digest, cmd.client_id)
    if change["before"]:
        digest = intake.external_id_hash(cmd.tenant_id, change["before"])
        indexes.release_external_id(conn, cmd.tenant_id, digest)


def record_cultural_context(
    intake: Intake, conn: Connection, cmd: ClientCommand, context: dict[str, Any]
) -> Client:
    return change_client(intake, conn, cmd, lambda c: c.record_cultural_context(**context))


def grant_consent(
    intake: Intake, conn: Connection, cmd: ClientCommand, consent: dict[str, Any]
) -> Client:
    return change_client(intake, conn, cmd, lambda c: c.grant_consent(**consent))


def revoke_consent(
    intake: Intake, conn: Connection, cmd: ClientCommand, kind: str, reason: str, revoked_by: str
) -> Client:
    return change_client(intake, conn, cmd, lambda c: c.revoke_consent(kind, reason, revoked_by))


def acknowledge_expectations(
    intake: Intake, conn: Connection, cmd: ClientCommand, acknowledgement: dict[str, Any]
) -> Client:
    return change_client(intake, conn, cmd, lambda c: c.acknowledge_expectations(**acknowledgement))


def record_screening(
    intake: Intake,
    conn: Connection,
    cmd: ClientCommand,
    instrument: str,
    items: list[int],
    administered_on: date | None = None,
) -> tuple[Client, str]:
    """Score and record a screening; returns the client and the new screening's id."""
    screening_id = str(uuid.uuid4())

    def decide(client: Client) -> list[object]:
        return client.record_screening(screening_id, instrument, items, today(), administered_on)

    return change_client(intake, conn, cmd, decide), screening_id


def complete_intake(intake: Intake, conn: Connection, cmd: ClientCommand) -> Client:
    return change_client(intake, conn, cmd, lambda c: c.complete_intake())


def change_client(intake: Intake, conn: Connection, cmd: ClientCommand, decide: Decision) -> Client:
    """Load the client, let it decide, record what it decided at the version it was read.

    If-Match is weighed after the decision: a request the rules refuse is answered that refusal
    whatever version it names, as RFC 9110 (13.2.1) has a server ignore preconditions then."""
    client = load_client(intake, conn, cmd.tenant_id, cmd.client_id)
    new_events = decide(client)
    if cmd.expected_version not in (None, client.version):
        raise ConcurrencyConflict(
            cmd.tenant_id, cmd.client_id, cmd.expected_version, client.version
        )
    if new_events:
        stream = cmd.client_id
        append = Append(cmd.tenant_id, stream, stream, client.version, new_events, cmd.metadata)
        intake.repository.record(conn, append)
    for event in new_events:
        client.apply(event)
    return client
