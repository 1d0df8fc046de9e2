"""Running a write request: one transaction holding the command's events and, when the caller
sent an `Idempotency-Key`, the stored response — so a retry returns the first answer and appends
nothing, and a reused key with a different body is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Response, request
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from waypoint_shared.auth import principal
from waypoint_shared.database import run_in_transaction
from waypoint_shared.problems import Problem
from waypoint_shared.tables import idempotency_records

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Reply:
    """What a command answers: status, JSON body, and headers such as Location and ETag."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        response = Response(json.dumps(self.body), status=self.status, mimetype="application/json")
        response.headers.update(self.headers)
        return response


def written(status: int, body: dict[str, Any], version: int, location: str | None = None) -> Reply:
    """The reply to a successful write: the new stream version as a strong ETag."""
    headers = {"ETag": f'"{version}"'}
    if location:
        headers["Location"] = location
    return Reply(status, {**body, "version": version}, headers)


def expected_version_from_if_match() -> int | None:
    """The version the caller claims to have seen, from `If-Match: "<version>"`."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(400, "Bad Request", 'If-Match must be an ETag such as "3".') from None


def execute(engine: Engine, work: Callable[[Connection], Reply]) -> Response:
    """Run a command's work in one transaction, honouring `Idempotency-Key`."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return run_in_transaction(engine, work).to_response()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Problem(
            400, "Bad Request", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters."
        )
    try:
        return run_in_transaction(engine, lambda c: _once(c, key, work)).to_response()
    except IntegrityError:  # a concurrent first use of the same key won: answer as it did
        return run_in_transaction(engine, lambda c: _once(c, key, work)).to_response()


def _once(conn: Connection, key: str, work: Callable[[Connection], Reply]) -> Reply:
    scope = {
        "tenant_id": principal().tenant,
        "method": request.method,
        "path": request.path,
        "key": hashlib.sha256(key.encode()).hexdigest(),
    }
    sealing = _reply_key(key, scope)
    fingerprint = hmac.new(sealing, request.get_data(), hashlib.sha256).hexdigest()
    found = conn.execute(select(idempotency_records).filter_by(**scope)).first()
    if found is not None:
        if not hmac.compare_digest(found.request_hash, fingerprint):
            raise Problem(
                422,
                "Unprocessable Content",
                "This Idempotency-Key was used with a different request body.",
            )
        return Reply(found.status, _open(sealing, found.body), dict(found.headers))
    reply = work(conn)
    conn.execute(
        insert(idempotency_records).values(
            **scope,
            request_hash=fingerprint,
            status=reply.status,
            body=_seal(sealing, reply.body),
            headers=reply.headers,
            created_at=datetime.now(UTC),
            subject=reply.body.get("client_id"),
        )
    )
    return reply


# A stored reply quotes what the caller sent, personal data included. It is kept sealed under a
# key derived from the caller's Idempotency-Key, which is stored only as a hash: the database
# alone cannot read it back, and erasing the client deletes it (by `subject`).
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
    return json.loads(AESGCM(sealing).decrypt(blob[:12], blob[12:], None))  # type: ignore[no-any-return]
