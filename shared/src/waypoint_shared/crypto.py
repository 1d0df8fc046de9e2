"""Personal-data protection: per-client AES-GCM data keys wrapped by the service's master key.

Fields the catalog marks personal are sealed before an event is stored and opened on read. Keys
live in the service's database, never in Kafka; destroying a client's key leaves only ciphertext,
and a tombstone in `erased_clients` so that no key is ever made for that client again.

During a master-key rotation the configuration lists several master keys, newest first: keys are
wrapped with the first and unwrapped with whichever opens them (`python -m
waypoint_shared.rotate_master_key` re-wraps the stored ones, after which the old key can go).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from waypoint_shared.tables import data_keys, erased_clients

SEALED_PREFIX = "enc:v1:"
NONCE_BYTES = 12


# Keys that belong to the service rather than a client live under a tenant no token can name.
SERVICE_TENANT = "_service"


# Statements built once and reused (see store.py): they run several times in every command.
_ERASED = select(erased_clients.c.client_id).where(
    erased_clients.c.tenant_id == bindparam("tenant_id"),
    erased_clients.c.client_id == bindparam("client_id"),
)
_ERASED_AMONG = select(erased_clients.c.client_id).where(
    erased_clients.c.tenant_id == bindparam("tenant_id"),
    erased_clients.c.client_id.in_(bindparam("client_ids", expanding=True)),
)
_WRAPPED_KEY = select(data_keys.c.wrapped_key).where(
    data_keys.c.tenant_id == bindparam("tenant_id"),
    data_keys.c.client_id == bindparam("client_id"),
)
_INSERT_KEY = insert(data_keys)
# key_for's two questions in one statement: the wrapped key (or NULL) and whether erased.
_KEY_OR_ERASED = select(_WRAPPED_KEY.scalar_subquery(), _ERASED.exists())


class CryptoError(Exception):
    """A value could not be opened: wrong key, tampered ciphertext, or the key is gone."""


class ClientErased(Exception):
    """The client was erased: their keys are gone; nothing of theirs is sealed or read again."""

    def __init__(self, client_id: str):
        super().__init__(client_id)
        self.client_id = client_id


def is_erased(conn: Connection, tenant_id: str, client_id: str) -> bool:
    """Whether this service destroyed the client's keys."""
    found = conn.execute(_ERASED, {"tenant_id": tenant_id, "client_id": client_id})
    return found.first() is not None


def erased_among(conn: Connection, tenant_id: str, client_ids: Iterable[str]) -> set[str]:
    """Which of a tenant's clients this service erased (one query for them all)."""
    params = {"tenant_id": tenant_id, "client_ids": list(set(client_ids))}
    return set(conn.execute(_ERASED_AMONG, params).scalars())


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def _encrypt(key: bytes, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def _decrypt(key: bytes, blob: bytes, context: str) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError) as error:
        raise CryptoError(f"cannot decrypt personal data for {context}") from error


class MasterKey:
    """The service's key-encryption keys, from configuration: one 32-byte base64 key or, during a
    rotation, a comma-separated list, newest first. Wraps with the first; unwraps with any."""

    def __init__(self, encoded: str):
        self._keys = [_master_key(part) for part in encoded.split(",") if part.strip()]
        if not self._keys:
            raise ValueError("configure a master key: 32 bytes, base64-encoded")

    def wrap(self, data_key: bytes, client_id: str) -> bytes:
        return _encrypt(self._keys[0], data_key, f"data-key:{client_id}")

    def unwrap(self, wrapped: bytes, client_id: str) -> bytes:
        for key in self._keys:
            try:
                return _decrypt(key, wrapped, f"data-key:{client_id}")
            except CryptoError:
                continue
        raise CryptoError(f"no configured master key opens the data key of {client_id}")

    def is_current(self, wrapped: bytes, client_id: str) -> bool:
        """Whether the newest master key wrapped this data key (no re-wrap needed)."""
        try:
            _decrypt(self._keys[0], wrapped, f"data-key:{client_id}")
        except CryptoError:
            return False
        return True


def _master_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ValueError("the master key must be 32 bytes, base64-encoded")
    return key


def seal_value(data_key: bytes, client_id: str, value: Any) -> str:
    blob = _encrypt(data_key, json.dumps(value).encode(), client_id)
    return SEALED_PREFIX + base64.b64encode(blob).decode()


def open_value(data_key: bytes, client_id: str, token: str) -> Any:
    if not is_sealed(token):
        raise CryptoError("value is not sealed personal data")
    try:
        blob = base64.b64decode(token[len(SEALED_PREFIX) :], validate=True)
    except ValueError as error:
        raise CryptoError("sealed value is not valid base64") from error
    return json.loads(_decrypt(data_key, blob, client_id))


class PersonalDataKeys:
    """Per-client data keys kept in the service's own database."""

    def __init__(self, master_key: MasterKey):
        self.master_key = master_key

    def key_for(self, conn: Connection, tenant_id: str, client_id: str) -> bytes:
        """The client's data key, created on first use; never again once it was destroyed."""
        params = {"tenant_id": tenant_id, "client_id": client_id}
        wrapped, erased = conn.execute(_KEY_OR_ERASED, params).one()
        if wrapped is not None:
            return self.master_key.unwrap(wrapped, client_id)
        if erased:
            raise ClientErased(client_id)
        key = AESGCM.generate_key(bit_length=256)
        self._store(conn, tenant_id, client_id, key)
        return key

    def _store(self, conn: Connection, tenant_id: str, client_id: str, key: bytes) -> None:
        row = {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "wrapped_key": self.master_key.wrap(key, client_id),
            "created_at": datetime.now(UTC),
        }
        conn.execute(_INSERT_KEY, row)

    def find(self, conn: Connection, tenant_id: str, client_id: str) -> bytes | None:
        params = {"tenant_id": tenant_id, "client_id": client_id}
        wrapped = conn.execute(_WRAPPED_KEY, params).scalar_one_or_none()
        return None if wrapped is None else self.master_key.unwrap(wrapped, client_id)

    @staticmethod
    def destroy(conn: Connection, tenant_id: str, client_id: str) -> None:
        """Crypto-shredding: delete the client's key and leave a tombstone (idempotent)."""
        conn.execute(
            delete(data_keys).where(
                data_keys.c.tenant_id == tenant_id, data_keys.c.client_id == client_id
            )
        )
        if not is_erased(conn, tenant_id, client_id):
            row = {"tenant_id": tenant_id, "client_id": client_id, "erased_at": datetime.now(UTC)}
            conn.execute(insert(erased_clients).values(**row))

    def rewrap(self, conn: Connection, tenant_id: str, client_id: str) -> bool:
        """Wrap one stored key with the newest master key; returns whether it changed."""
        key_row = (data_keys.c.tenant_id == tenant_id, data_keys.c.client_id == client_id)
        wrapped = conn.execute(select(data_keys.c.wrapped_key).where(*key_row)).scalar()
        if wrapped is None or self.master_key.is_current(wrapped, client_id):
            return False
        rewrapped = self.master_key.wrap(self.master_key.unwrap(wrapped, client_id), client_id)
        conn.execute(update(data_keys).where(*key_row).values(wrapped_key=rewrapped))
        return True

    def service_key(self, conn: Connection, name: str, initial: bytes) -> bytes:
        """A secret of the service itself (not of a client), kept and rotated like data keys."""
        existing = self.find(conn, SERVICE_TENANT, name)
        if existing is not None:
            return existing
        try:
            with conn.begin_nested():
                self._store(conn, SERVICE_TENANT, name, initial)
        except IntegrityError:  # another process stored it first: use theirs
            return self.find(conn, SERVICE_TENANT, name) or initial
        return initial

    def seal(
        self,
        conn: Connection,
        tenant_id: str,
        client_id: str,
        data: dict[str, Any],
        personal: tuple[str, ...],
    ) -> dict[str, Any]:
        """A copy of data with its personal fields sealed under the client's key."""
        if not any(data.get(name) is not None for name in personal):
            return dict(data)
        key = self.key_for(conn, tenant_id, client_id)
        return {
            name: seal_value(key, client_id, value)
            if name in personal and value is not None
            else value
            for name, value in data.items()
        }

    def open(
        self,
        conn: Connection,
        tenant_id: str,
        client_id: str,
        data: dict[str, Any],
        personal: tuple[str, ...],
    ) -> dict[str, Any]:
        """A copy of data with its personal fields opened; ClientErased when the key was
        destroyed, CryptoError when it is otherwise missing or wrong."""
        key = self.find(conn, tenant_id, client_id)
        if key is None and any(is_sealed(data.get(n)) for n in personal):
            if is_erased(conn, tenant_id, client_id):
                raise ClientErased(client_id)
            raise CryptoError(f"no data key for client {client_id}")
        return {
            name: open_value(key, client_id, value) if key and is_sealed(value) else value
            for name, value in data.items()
        }
