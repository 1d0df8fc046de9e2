"""The audit of reads: every GET of a client's data appends who read it, what, when, and in which
request, to the service's `read_audit` table (append-only: triggers refuse UPDATE and DELETE).

Writes need no such table: the event history names the caller of every write. A read concerns the
client in the path (`/v1/clients/<client_id>/…`), the `patient` of a FHIR search, or a client the
view names with `reads(client_id)` (a goal read by its own id names its client so).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import Connection, Engine, insert, select

from waypoint_shared.db.database import run_in_transaction, stored_utc
from waypoint_shared.db.tables import read_audit
from waypoint_shared.http.auth import Principal

READS = ("GET", "HEAD")


def reads(client_id: Any) -> None:
    """Note that the current request reads this client's data (its path need not name them)."""
    g.setdefault("audited_clients", []).append(str(client_id))


def client_of_request() -> str | None:
    """The client a request's path or FHIR `patient` search parameter names, if any."""
    named = (request.view_args or {}).get("client_id")
    if named is not None:
        return str(named)
    patient = request.args.get("patient") if request.path.startswith("/fhir/") else None
    try:
        return str(uuid.UUID(patient.removeprefix("Patient/"))) if patient else None
    except ValueError:  # the view's own schema answers 422 for it
        return None


def install_read_audit(app: Flask, engine: Engine) -> None:
    """Append an audit record for each client a successful read concerned."""

    @app.after_request
    def audit_reads(response: Response) -> Response:
        caller = g.get("principal")
        if request.method not in READS or caller is None or response.status_code >= 400:
            return response
        clients = _unique([client_of_request(), *g.get("audited_clients", [])])
        if clients:
            run_in_transaction(engine, lambda conn: record(conn, caller, clients))
        return response


def record(conn: Connection, caller: Principal, clients: Iterable[str]) -> None:
    """One audit row per client read by the current request (its path without the query)."""
    now = datetime.now(UTC)
    rows = [
        {
            "tenant_id": caller.tenant,
            "client_id": client_id,
            "subject": caller.subject[:255],
            "method": request.method,
            "path": request.path[:512],
            "request_id": g.get("request_id") or "",
            "read_at": now,
        }
        for client_id in clients
    ]
    conn.execute(insert(read_audit), rows)


def _unique(clients: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(c for c in clients if c))


def access_log(
    conn: Connection, tenant_id: str, client_id: str, after: int = 0, limit: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The reads of a client's data in the order they happened, and the next page's cursor."""
    a = read_audit.c
    query = (
        select(read_audit)
        .where(a.tenant_id == tenant_id, a.client_id == client_id, a.position > after)
        .order_by(a.position)
    )
    rows = conn.execute(query if limit is None else query.limit(limit + 1)).all()
    page = rows if limit is None else rows[:limit]
    more = limit is not None and len(rows) > limit
    return [_entry(r) for r in page], str(page[-1].position) if more else None


def _entry(row: Any) -> dict[str, Any]:
    read_at = stored_utc(row.read_at)
    return {
        "read_at": read_at.isoformat(),
        "subject": row.subject,
        "tenant": row.tenant_id,
        "method": row.method,
        "path": row.path,
        "request_id": row.request_id,
    }


class AccessLogQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class AccessRecordSchema(Schema):
    read_at = fields.String(required=True, metadata={"description": "RFC 3339, UTC"})
    subject = fields.String(required=True, metadata={"description": "the token's sub"})
    tenant = fields.String(required=True)
    method = fields.String(required=True)
    path = fields.String(required=True, metadata={"description": "without the query string"})
    request_id = fields.String(
        required=True, metadata={"description": "the service's id of the read (its X-Request-ID)"}
    )


class AccessLogSchema(Schema):
    client_id = fields.UUID(required=True)
    items = fields.List(fields.Nested(AccessRecordSchema), required=True)
    next_cursor = fields.String(allow_none=True)
