"""Running a write request: one transaction holding the command's events and, when the caller
sent an `Idempotency-Key`, the stored response — so a retry returns the first answer and appends
nothing, and a reused key with a different body is refused with 409: the key already names
another request (the server's state, not the body's shape; ADR 0017).

A key is 16 to 255 characters (else 422). It is looked up by an HMAC-SHA256 under a secret of the
service (kept wrapped like a data key), never stored itself. A stored reply names the client it
concerns (`Reply.subject`, given by every command route) so erasing the client deletes it, and is
honoured for `WAYPOINT_IDEMPOTENCY_TTL_HOURS` (24): older records are ignored, and deleted by the
next write that stores a reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Response, current_app, request
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from waypoint_shared.config import Settings
from waypoint_shared.crypto.sealing import MasterKey, PersonalDataKeys
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.group_commit import run_in_group
from waypoint_shared.db.tables import idempotency_records
from waypoint_shared.http.auth import principal
from waypoint_shared.http.problems import Problem

MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"
# A version's ETag ("3"), or the bare version (3): the forms every write documents.
IF_MATCH_PATTERN = '^(?:"[0-9]+"|[0-9]+)$'
IF_MATCH = re.compile(IF_MATCH_PATTERN, re.ASCII)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_EXTENSION = "waypoint.idempotency"


@dataclass(frozen=True)
class Reply:
    """What a command answers: status, JSON body, headers such as Location and ETag, and the
    client it concerns (`subject`: erasing that client deletes the stored reply)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    subject: str | None = None

    def to_response(self) -> Response:
        response = Response(json.dumps(self.body), status=self.status, mimetype="application/json")
        response.headers.update(self.headers)
        return response


def written(
    status: int,
    body: dict[str, Any],
    version: int,
    location: str | None = None,
    *,
    subject: str | None,
) -> Reply:
    """The reply to a successful write: the new stream version as a strong ETag. `subject` is
    the client the write concerns (None only for what concerns no client, e.g. the roster)."""
    headers = {"ETag": f'"{version}"'}
    if location:
        headers["Location"] = location
    return Reply(status, {**body, "version": version}, headers, subject)


@dataclass(frozen=True)
class Idempotency:
    """The service's lookup secret and how long a stored reply is honoured."""

    secret: bytes
    ttl: timedelta

    def lookup_key(self, key: str) -> str:
        return hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()


def install_idempotency(app: Flask, engine: Engine, settings: Settings) -> None:
    """The service's idempotency secret, made once and kept wrapped like a data key."""
    keys = PersonalDataKeys(MasterKey(settings.master_key), settings.service)
    secret = run_in_transaction(
        engine, lambda conn: keys.service_key(conn, "idempotency-hmac", os.urandom(32))
    )
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    app.extensions[_EXTENSION] = Idempotency(secret, ttl)
    app.before_request(_refuse_malformed_if_match)


def _refuse_malformed_if_match() -> None:
    """Every write documents `If-Match` as a version's ETag (`"3"`) or the bare version: any
    other value (a weak tag, `*`, empty) is a 400, on the writes that create as on those that
    change."""
    value = request.headers.get("If-Match")
    writing = request.method in WRITE_METHODS and request.routing_exception is None
    if writing and value is not None and not IF_MATCH.fullmatch(value):
        raise Problem(400, "Bad Request", 'If-Match must be an ETag such as "3".')


def expected_version_from_if_match() -> int | None:
    """The version the caller claims to have seen, from `If-Match: "<version>"`."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    if not IF_MATCH.fullmatch(value):
        raise Problem(400, "Bad Request", 'If-Match must be an ETag such as "3".')
    return int(value.strip('"'))


def execute(engine: Engine, work: Callable[[Connection], Reply]) -> Response:
    """Run a command's work, honouring `Idempotency-Key`, in the process's next group commit
    (`waypoint_shared.db.group_commit`): isolated from the other commands of that transaction
    by a savepoint, and answered only once the transaction has durably committed."""
    key = request.headers.get(HEADER)
    if key is None:
        return run_in_group(engine, work).to_response()
    _check(key)
    settings: Idempotency = current_app.extensions[_EXTENSION]
    try:
        return run_in_group(engine, lambda c: _once(c, settings, key, work)).to_response()
    except IntegrityError:  # a concurrent first use of the same key won: answer as it did
        return run_in_group(engine, lambda c: _once(c, settings, key, work)).to_response()


def _check(key: str) -> None:
    if MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        return
    message = f"{HEADER} must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters (a UUID fits)."
    raise Problem(422, "Unprocessable Content", message, errors={HEADER: [message]})


_FOUND = select(idempotency_records).where(
    idempotency_records.c.tenant_id == bindparam("tenant_id"),
    idempotency_records.c.method == bindparam("method"),
    idempotency_records.c.path == bindparam("path"),
    # records stored before the lookup was keyed are found by their SHA-256 until they expire
    idempotency_records.c.key.in_(bindparam("keys", expanding=True)),
    idempotency_records.c.created_at >= bindparam("since"),
)
_EXPIRED = delete(idempotency_records).where(idempotency_records.c.created_at < bindparam("before"))


def _once(
    conn: Connection, settings: Idempotency, key: str, work: Callable[[Connection], Reply]
) -> Reply:
    now = datetime.now(UTC)
    scope = {"tenant_id": principal().tenant, "method": request.method, "path": request.path}
    sealing = _reply_key(key, scope)
    fingerprint = hmac.new(sealing, request.get_data(), hashlib.sha256).hexdigest()
    lookup = settings.lookup_key(key)
    legacy = hashlib.sha256(key.encode()).hexdigest()
    params = {**scope, "keys": [lookup, legacy], "since": now - settings.ttl}
    found = conn.execute(_FOUND, params).first()
    if found is not None:
        if not hmac.compare_digest(found.request_hash, fingerprint):
            message = "This key was used with a different request body: send a new key."
            raise Problem(409, "Conflict", message, errors={HEADER: [message]})
        return Reply(found.status, _open(sealing, found.body), dict(found.headers), found.subject)
    reply = work(conn)
    conn.execute(_EXPIRED, {"before": now - settings.ttl})
    conn.execute(
        insert(idempotency_records).values(
            **scope,
            key=lookup,
            request_hash=fingerprint,
            status=reply.status,
            body=_seal(sealing, reply.body),
            headers=reply.headers,
            created_at=now,
            subject=reply.subject,
        )
    )
    return reply


# A stored reply quotes what the caller sent, personal data included. It is kept sealed under a
# key derived from the caller's Idempotency-Key, which is stored only as a keyed hash: the
# database alone cannot read it back, and erasing the client deletes it (by `subject`).
def _reply_key(key: str, scope: dict[str, str]) -> bytes:
    context = f"{scope['tenant_id']}|{scope['method']}|{scope['path']}".encode()
    return HKDF(algorithm=SHA256(), length=32, salt=context, info=b"idempotent-reply").derive(
        key.encode()
    )


def _seal(sealing: bytes, body: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(
        nonce + AESGCM(sealing).encrypt(nonce, json.dumps(body).encode(), None)
    ).decode()


def _open(sealing: bytes, stored: str) -> dict[str, Any]:
    blob = base64.b64decode(stored)
    body: dict[str, Any] = json.loads(AESGCM(sealing).decrypt(blob[:12], blob[12:], None))
    return body
