"""Erasure by crypto-shredding, as every service does it, and 410 Gone for an erased client.

A service forgets a client by destroying its data keys (leaving a tombstone in `erased_clients`,
which no rebuild swaps away), deleting the stored replies of idempotent requests that quote the
client, and deleting its own read-model rows (each service knows its own). On SQLite the deleted
rows are zeroed in place (`secure_delete`), and once the transaction has committed the WAL file is
checkpointed and truncated, so no copy of a deleted page lingers there. What stays is ciphertext
nobody can open any more: in the events table and on the Kafka topics.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g
from sqlalchemy import Connection, Engine, delete, event, or_

from waypoint_shared.crypto.sealing import ClientErased, PersonalDataKeys, erased_among, is_erased
from waypoint_shared.db.database import is_sqlite, read
from waypoint_shared.db.tables import idempotency_records
from waypoint_shared.http.audit import client_of_request
from waypoint_shared.http.problems import problem_response

__all__ = ["ClientErased", "ensure_not_erased", "erased_among", "forget_client", "is_erased"]
log = logging.getLogger(__name__)
_TRUNCATE_WAL = "waypoint_truncate_wal"


def ensure_not_erased(conn: Connection, tenant_id: str, client_id: str) -> None:
    if is_erased(conn, tenant_id, client_id):
        raise ClientErased(client_id)


def forget_client(conn: Connection, tenant_id: str, client_id: str) -> None:
    """The shared part of an erasure: keys destroyed, stored replies that quote the client gone."""
    PersonalDataKeys.destroy(conn, tenant_id, client_id)
    r = idempotency_records.c
    conn.execute(
        delete(idempotency_records).where(
            r.tenant_id == tenant_id, or_(r.path.contains(client_id), r.subject == client_id)
        )
    )
    truncate_wal_after_commit(conn)


def truncate_wal_after_commit(conn: Connection) -> None:
    """Empty SQLite's WAL file once this transaction is over (its connection back in the pool):
    the WAL may still hold the pages as they were before the delete."""
    if not is_sqlite(conn):
        return
    conn.info[_TRUNCATE_WAL] = True
    if not event.contains(conn.engine, "checkin", _truncate_wal):
        event.listen(conn.engine, "checkin", _truncate_wal)


def _truncate_wal(dbapi_connection: Any, connection_record: Any) -> None:
    if not connection_record.info.pop(_TRUNCATE_WAL, False):
        return
    try:  # the erasure is committed: a failed truncation must not turn it into an error
        [(busy, _, _)] = dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except Exception:
        busy = 1
    if busy:
        log.warning("WAL not truncated after an erasure: run PRAGMA wal_checkpoint(TRUNCATE)")


def install_erasure_guard(app: Flask, engine: Engine) -> None:
    """Refuse every request about an erased client (after authentication, before the view)."""

    @app.before_request
    def refuse_erased_client() -> None:
        caller, client_id = g.get("principal"), client_of_request()
        if caller is None or client_id is None:
            return
        with read(engine) as conn:
            ensure_not_erased(conn, caller.tenant, client_id)


def gone(error: ClientErased) -> Response:
    """410 for an erased client (a FHIR OperationOutcome with code `deleted` under /fhir)."""
    return problem_response(
        410,
        "Gone",
        f"Client {error.client_id} was erased: nothing of theirs is kept or answered any more.",
        client_id=error.client_id,
    )
