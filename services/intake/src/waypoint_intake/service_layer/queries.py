"""Intake's read-side queries: lists, history and exports, all rebuilt from events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_intake.adapters import indexes
from waypoint_intake.domain.client import Client
from waypoint_intake.domain.errors import NotFound
from waypoint_intake.service_layer.handlers import Intake, load_client
from waypoint_shared.eventstore.repository import RecordedEvent, exported
from waypoint_shared.http import audit


def find_by_external_id(
    intake: Intake, conn: Connection, tenant_id: str, external_id: str
) -> Client | None:
    digest = intake.external_id_hash(tenant_id, external_id)
    client_id = indexes.client_with_external_id(conn, tenant_id, digest)
    return None if client_id is None else load_client(intake, conn, tenant_id, client_id)


def clients_page(
    intake: Intake, conn: Connection, tenant_id: str, cursor: str | None, limit: int
) -> tuple[list[Client], str | None]:
    ids, next_cursor = indexes.page_of_clients(conn, tenant_id, cursor, limit)
    return [load_client(intake, conn, tenant_id, i) for i in ids], next_cursor


def client_history(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str, cursor: str | None, limit: int
) -> tuple[list[tuple[Any, RecordedEvent]], str | None]:
    """A page of the client's events, opened, each with its stored record (time, version,
    metadata), and the cursor of the next page."""
    history = intake.repository.replay(conn, tenant_id, client_id)
    if not history:
        raise NotFound(client_id)
    after = indexes.decode_cursor(cursor) if cursor else 0
    rest = [(e, r) for e, r in history if r.stream_version > after]
    page = rest[:limit]
    more = len(rest) > limit
    return page, indexes.encode_cursor(page[-1][1].stream_version) if more else None


def find_client_with_times(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str
) -> tuple[Client, dict[int, datetime]] | None:
    """The client and when each of its versions was recorded; None for no such client."""
    history = intake.repository.replay(conn, tenant_id, client_id)
    if not history:
        return None
    client = Client.rebuilt(client_id, [e for e, _ in history])
    return client, {r.stream_version: r.occurred_at for _, r in history}


def owner_of_fhir_resource(
    conn: Connection, tenant_id: str, resource_type: str, resource_id: str
) -> str | None:
    """The client of this tenant a FHIR resource of intake's belongs to; None if no client's."""
    return indexes.owner_of_fhir_resource(conn, tenant_id, resource_type, resource_id)


def subject_access(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str
) -> tuple[Client, dict[str, Any]]:
    """The client as intake holds them, and every event of their record, opened; with the
    reads of their data so far."""
    history = intake.repository.replay(conn, tenant_id, client_id)
    client = Client.rebuilt(client_id, [e for e, _ in history])
    reads, _ = audit.access_log(conn, tenant_id, client_id)
    return client, {"events": exported(history), "access_log": reads}
