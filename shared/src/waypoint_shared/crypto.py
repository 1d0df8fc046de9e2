"""Personal-data protection: per-client AES-GCM data keys wrapped by the service's master key.

Fields the catalog marks personal are sealed before an event is stored and opened on read. Keys
live in the service's database, never in Kafka; destroying a client's key leaves only ciphertext.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select

from waypoint_shared.tables import data_keys

SEALED_PREFIX = "enc:v1:"
NONCE_BYTES = 12


class CryptoError(Exception):
    """A value could not be opened: wrong key, tampered ciphertext, or the key is gone."""


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
    """The service's key-encryption key, from configuration (32 bytes, base64)."""

    def __init__(self, encoded: str):
        key = base64.b64decode(encoded)
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes, base64-encoded")
        self._key = key

    def wrap(self, data_key: bytes, client_id: str) -> bytes:
        return _encrypt(self._key, data_key, f"data-key:{client_id}")

    def unwrap(self, wrapped: bytes, client_id: str) -> bytes:
        return _decrypt(self._key, wrapped, f"data-key:{client_id}")


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
        """The client's data key, created on first use."""
        existing = self.find(conn, tenant_id, client_id)
        if existing is not None:
            return existing
        key = AESGCM.generate_key(bit_length=256)
        conn.execute(
            insert(data_keys).values(
                tenant_id=tenant_id,
                client_id=client_id,
                wrapped_key=self.master_key.wrap(key, client_id),
                created_at=datetime.now(UTC),
            )
        )
        return key

    def find(self, conn: Connection, tenant_id: str, client_id: str) -> bytes | None:
        wrapped = conn.execute(
            select(data_keys.c.wrapped_key).where(
                data_keys.c.tenant_id == tenant_id, data_keys.c.client_id == client_id
            )
        ).scalar_one_or_none()
        return None if wrapped is None else self.master_key.unwrap(wrapped, client_id)

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
        """A copy of data with its personal fields opened; CryptoError when the key is gone."""
        key = self.find(conn, tenant_id, client_id)
        if key is None and any(is_sealed(data.get(n)) for n in personal):
            raise CryptoError(f"no data key for client {client_id}")
        return {
            name: open_value(key, client_id, value) if key and is_sealed(value) else value
            for name, value in data.items()
        }
