"""Queries and updates of intake's indexes; each runs in the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    select,
)

from waypoint_intake.adapters.tables import client_index, external_ids, therapist_index
from waypoint_shared.db.prepared import Prepared
from waypoint_shared.db.tables import events

# The statements every referral runs, built once (a reused statement keeps its compiled form).
_EXTERNAL_ID_HOLDER = select(external_ids.c.client_id).where(
    external_ids.c.tenant_id == bindparam("tenant_id"),
    external_ids.c.external_id_hash == bindparam("digest"),
)
_INSERT_EXTERNAL_ID = insert(external_ids)
_INSERT_CLIENT = Prepared(insert(client_index))


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


class ExternalIdTaken(Exception):
    def __init__(self, client_id: str):
        super().__init__(client_id)
        self.client_id = client_id


def external_id_hash(key: bytes, tenant_id: str, external_id: str) -> str:
    return hmac.new(key, f"{tenant_id}\x00{external_id}".encode(), hashlib.sha256).hexdigest()


def any_external_id(conn: Connection) -> bool:
    """Whether any external id was ever registered in this database."""
    return conn.execute(select(external_ids.c.client_id).limit(1)).first() is not None


def client_with_external_id(conn: Connection, tenant_id: str, digest: str) -> str | None:
    found = conn.execute(_EXTERNAL_ID_HOLDER, {"tenant_id": tenant_id, "digest": digest})
    return found.scalar_one_or_none()


def claim_external_id(conn: Connection, tenant_id: str, digest: str, client_id: str) -> None:
    """Register an external id for a client; one already held by a client is refused."""
    holder = client_with_external_id(conn, tenant_id, digest)
    if holder is not None and holder != client_id:
        raise ExternalIdTaken(holder)
    if holder is None:
        row = {"tenant_id": tenant_id, "external_id_hash": digest, "client_id": client_id}
        conn.execute(_INSERT_EXTERNAL_ID, row)


def release_external_id(conn: Connection, tenant_id: str, digest: str) -> None:
    conn.execute(
        delete(external_ids).where(
            external_ids.c.tenant_id == tenant_id, external_ids.c.external_id_hash == digest
        )
    )


def index_client(conn: Connection, tenant_id: str, client_id: str, position: int) -> None:
    row = {"tenant_id": tenant_id, "client_id": client_id, "position": position}
    _INSERT_CLIENT.rows(conn, row)


def forget_client(conn: Connection, tenant_id: str, client_id: str) -> None:
    """An erased client leaves the client list and frees their external id."""
    for table in (client_index, external_ids):
        conn.execute(
            delete(table).where(table.c.tenant_id == tenant_id, table.c.client_id == client_id)
        )


def index_therapist(conn: Connection, tenant_id: str, therapist_id: str, position: int) -> None:
    row = {"tenant_id": tenant_id, "therapist_id": therapist_id, "position": position}
    conn.execute(insert(therapist_index).values(**row))


PageStatements = tuple[Select[Any], Select[Any]]  # a list's first page, a page after a position


def _page_statements(table: Table, id_column: ColumnElement[str]) -> PageStatements:
    """A list's first page and a page after a position, each built once with bound parameters:
    a statement built per request costs more Python than the query itself."""
    first = (
        select(id_column, table.c.position)
        .where(table.c.tenant_id == bindparam("tenant_id"))
        .order_by(table.c.position)
        .limit(bindparam("limit", type_=Integer))
    )
    return first, first.where(table.c.position > bindparam("after"))


_CLIENT_PAGES = _page_statements(client_index, client_index.c.client_id)
_THERAPIST_PAGES = _page_statements(therapist_index, therapist_index.c.therapist_id)


def page_of_clients(
    conn: Connection, tenant_id: str, cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    return _page(conn, _CLIENT_PAGES, tenant_id, cursor, limit)


def page_of_therapists(
    conn: Connection, tenant_id: str, cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    return _page(conn, _THERAPIST_PAGES, tenant_id, cursor, limit)


def all_therapists(conn: Connection, tenant_id: str) -> list[str]:
    t = therapist_index
    query = select(t.c.therapist_id).where(t.c.tenant_id == tenant_id).order_by(t.c.position)
    return list(conn.execute(query).scalars())


def _page(
    conn: Connection,
    statements: PageStatements,
    tenant_id: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[str], str | None]:
    """Ids of one page, in arrival order, and the cursor of the next page (None at the end)."""
    first, after = statements
    values: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit + 1}
    if cursor:
        values["after"] = decode_cursor(cursor)
    rows = conn.execute(after if cursor else first, values).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].position) if len(rows) > limit else None
    return [row[0] for row in page], next_cursor


def encode_cursor(position: int) -> str:
    """The cursor for "after this position (or version)": its digits."""
    return str(position)


def decode_cursor(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit()):
        raise BadCursor(cursor)
    return int(cursor)


# Which client a FHIR resource of intake's belongs to, found from the tenant's events alone. The
# ids of intake's FHIR resources derive from what the events hold in the clear: an episode of care
# from the client id, a consent from the client id and the stream version of its grant, a
# questionnaire response is its screening's id and the screening's two observations derive from
# it; so nothing personal is opened to find the owner. The look-up scans the tenant's events of
# one type: fine for a clinic's records; an index of its own if they grow large.
FHIR_EVENT_OF = {
    "EpisodeOfCare": "waypoint.intake.client_referred.",
    "Consent": "waypoint.intake.consent_granted.",
    "QuestionnaireResponse": "waypoint.intake.screening_recorded.",
    "Observation": "waypoint.intake.screening_recorded.",
}


def _episode(row: Row[Any, Any, Any]) -> set[str]:
    return {str(uuid.uuid5(uuid.UUID(row.client_id), "episode-of-care"))}


def _consent(row: Row[Any, Any, Any]) -> set[str]:
    return {str(uuid.uuid5(uuid.UUID(row.client_id), f"consent/{row.stream_version}"))}


def _questionnaire_response(row: Row[Any, Any, Any]) -> set[str]:
    return {str(row.data["screening_id"])}


def _observations(row: Row[Any, Any, Any]) -> set[str]:
    screening = uuid.UUID(str(row.data["screening_id"]))
    return {str(uuid.uuid5(screening, part)) for part in ("panel", "total")}


FHIR_IDS_OF: dict[str, Callable[[Row[Any, Any, Any]], set[str]]] = {
    "EpisodeOfCare": _episode,
    "Consent": _consent,
    "QuestionnaireResponse": _questionnaire_response,
    "Observation": _observations,
}


def owner_of_fhir_resource(
    conn: Connection, tenant_id: str, resource_type: str, resource_id: str
) -> str | None:
    """The client of this tenant whose resource of that type has that id; None if none has."""
    if resource_type not in FHIR_EVENT_OF:
        return None
    rows = conn.execute(
        select(events.c.client_id, events.c.stream_version, events.c.data).where(
            events.c.tenant_id == tenant_id,
            events.c.type.startswith(FHIR_EVENT_OF[resource_type], autoescape=True),
        )
    )
    ids_of = FHIR_IDS_OF[resource_type]
    return next((row.client_id for row in rows if resource_id in ids_of(row)), None)
