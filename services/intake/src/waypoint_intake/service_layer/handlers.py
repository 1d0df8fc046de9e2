"""Intake's command handlers: load, decide, record."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from waypoint_intake.adapters.tables import external_ids
from waypoint_intake.domain.client import EVENTS, Client
from waypoint_shared.repository import EventSourcedRepository
from waypoint_shared.store import RecordedEvent

SERVICE = "intake"


class AlreadyReferred(Exception):
    def __init__(self, client_id: str):
        super().__init__(client_id)
        self.client_id = client_id


@dataclass(frozen=True)
class Intake:
    """Intake's dependencies, injected once by bootstrap."""

    repository: EventSourcedRepository
    external_id_key: bytes

    @classmethod
    def create(cls, store: Any, keys: Any, external_id_key: bytes) -> Intake:
        return cls(EventSourcedRepository(SERVICE, store, keys, EVENTS), external_id_key)


def refer_client(
    intake: Intake,
    conn: Connection,
    tenant_id: str,
    details: dict[str, Any],
    metadata: dict[str, Any],
) -> RecordedEvent:
    """Refer a new client; an external id already known for this tenant is refused."""
    client_id = str(uuid.uuid4())
    if details.get("external_id"):
        _claim_external_id(intake, conn, tenant_id, details["external_id"], client_id)
    event = Client.refer(client_id, **details)
    [recorded] = intake.repository.record(
        conn,
        tenant_id=tenant_id,
        stream_id=client_id,
        client_id=client_id,
        expected_version=0,
        events=[event],
        metadata=metadata,
    )
    return recorded


def _claim_external_id(
    intake: Intake, conn: Connection, tenant_id: str, external_id: str, client_id: str
) -> None:
    digest = hmac.new(
        intake.external_id_key, f"{tenant_id}\x00{external_id}".encode(), hashlib.sha256
    ).hexdigest()
    existing = conn.execute(
        select(external_ids.c.client_id).where(
            external_ids.c.tenant_id == tenant_id, external_ids.c.external_id_hash == digest
        )
    ).scalar_one_or_none()
    if existing:
        raise AlreadyReferred(existing)
    conn.execute(
        insert(external_ids).values(
            tenant_id=tenant_id, external_id_hash=digest, client_id=client_id
        )
    )


def load_client(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str, as_of: datetime | None = None
) -> Client:
    events = intake.repository.replay(conn, tenant_id, client_id, until=as_of)
    return Client.rebuilt(client_id, [e for e, _ in events])
