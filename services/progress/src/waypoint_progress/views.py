"""Read-side queries of progress: the timeline, in its order, filtered and cursor-paged."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from waypoint_progress.adapters.tables import timeline_entries as t


class ClientNotSeen(Exception):
    """Progress has no event of this client (yet)."""


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


@dataclass(frozen=True)
class TimelineQuery:
    tenant_id: str
    client_id: str
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def timeline(conn: Connection, q: TimelineQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a client's timeline and the cursor of the next page (None at the end)."""
    mine = (t.c.tenant_id == q.tenant_id, t.c.client_id == q.client_id)
    if conn.execute(select(t.c.id).where(*mine).limit(1)).first() is None:
        raise ClientNotSeen(q.client_id)
    query = select(t).where(*mine)
    if q.kind:
        query = query.where(t.c.kind == q.kind)
    if q.since:
        query = query.where(t.c.occurred_at >= q.since.astimezone(UTC))
    if q.until:
        query = query.where(t.c.occurred_at <= q.until.astimezone(UTC))
    if q.cursor:
        query = query.where(t.c.sort_key > _decode_cursor(q.cursor))
    rows = conn.execute(query.order_by(t.c.sort_key).limit(q.limit + 1)).all()
    page = rows[: q.limit]
    next_cursor = _encode_cursor(page[-1].sort_key) if len(rows) > q.limit else None
    return [_entry(r) for r in page], next_cursor


def _entry(row: Any) -> dict[str, Any]:
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
    return {
        "id": row.id,
        "kind": row.kind,
        "type": row.type,
        "title": row.title,
        "occurred_at": occurred.isoformat(),
        "source": {"service": row.source_service, "event_id": row.source_event_id},
    }


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        key = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError as error:
        raise BadCursor(cursor) from error
    if key.count("|") != 5:
        raise BadCursor(cursor)
    return key
