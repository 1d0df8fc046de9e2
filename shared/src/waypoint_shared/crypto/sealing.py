"""Personal-data protection: per-client AES-GCM data keys wrapped by the service's master key.

Fields the catalog marks personal are sealed before an event is stored and opened on read. Keys
live in the service's database, never in Kafka; destroying a client's key leaves only ciphertext,
and a tombstone in `erased_clients` so that no key is ever made for that client again.

Sealed values (`enc:v2:`) are bound to their place: the AES-GCM associated data names the service
that sealed them, the tenant, the client, the event type and version as stored, and the field. A
ciphertext copied to another field, event, client, tenant or service does not open. Values of the
first format (`enc:v1:`, bound to the client id only) still open; nothing writes them any more.
Wrapped data keys are bound likewise to service, tenant and client (older wraps, bound to the
client id only, still unwrap and are re-wrapped by the rotation command).

During a master-key rotation the configuration lists several master keys, newest first: keys are
wrapped with the first and unwrapped with whichever opens them (`python -m
waypoint_shared.crypto.sealing.rotation` re-wraps the stored ones, after which the old key can go).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from waypoint_shared.db.lists import DIALECTS, one_of
from waypoint_shared.db.prepared import Prepared
from waypoint_shared.db.tables import data_keys, erased_clients

SEALED_PREFIX = "enc:v2:"
LEGACY_PREFIX = "enc:v1:"  # bound to the client id only; read, never written
SEALED_PREFIXES = (SEALED_PREFIX, LEGACY_PREFIX)
NONCE_BYTES = 12


# Keys that belong to the service rather than a client live under a tenant no token can name.
SERVICE_TENANT = "_service"


# Statements built once and reused (see store.py): they run several times in every command.
_ERASED = select(erased_clients.c.client_id).where(
    erased_clients.c.tenant_id == bindparam("tenant_id"),
    erased_clients.c.client_id == bindparam("client_id"),
)
_ERASED_AMONG = {
    dialect: Prepared(
        select(erased_clients.c.client_id).where(
            erased_clients.c.tenant_id == bindparam("tenant_id"),
            one_of(erased_clients.c.client_id, "client_ids", dialect),
        )
    )
    for dialect in DIALECTS
}
_WRAPPED_KEY = select(data_keys.c.wrapped_key).where(
    data_keys.c.tenant_id == bindparam("tenant_id"),
    data_keys.c.client_id == bindparam("client_id"),
)
_INSERT_KEY = Prepared(insert(data_keys))
# key_for's two questions in one statement: the wrapped key (or NULL) and whether erased.
_KEY_OR_ERASED = Prepared(select(_WRAPPED_KEY.scalar_subquery(), _ERASED.exists()))


class CryptoError(Exception):
    """A value could not be opened: wrong key, tampered ciphertext, a ciphertext moved from the
    place it was sealed for, or the key is gone."""


class UnreadableRecord(CryptoError):
    """A stored event of a client whose personal data does not open where it is stored: the
    store was tampered with or damaged. Nothing of the record is answered."""

    def __init__(self, client_id: str, stream_id: str):
        super().__init__(f"sealed data of stream {stream_id} does not open for its place")
        self.client_id, self.stream_id = client_id, stream_id


@dataclass(frozen=True)
class Place:
    """Where a sealed value lives; its associated data, so it opens nowhere else."""

    service: str
    tenant_id: str
    client_id: str
    event_type: str  # the full type as stored, version included: waypoint.intake.x.v1
    field: str

    def associated_data(self) -> str:
        parts = ["waypoint-sealed-v2", self.service, self.tenant_id, self.client_id]
        return json.dumps([*parts, self.event_type, self.field], separators=(",", ":"))


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
    return {client_id for (client_id,) in _ERASED_AMONG[conn.dialect.name].rows(conn, params)}


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIXES)


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

    def wrap(self, data_key: bytes, binding: str) -> bytes:
        return _encrypt(self._keys[0], data_key, binding)

    def unwrap(self, wrapped: bytes, *bindings: str) -> bytes:
        """The data key, from whichever configured key and binding (newest first) opens it."""
        for key in self._keys:
            for binding in bindings:
                try:
                    return _decrypt(key, wrapped, binding)
                except CryptoError:
                    continue
        raise CryptoError(f"no configured master key opens the data key bound to {bindings[0]}")

    def is_current(self, wrapped: bytes, binding: str) -> bool:
        """Whether the newest master key wrapped this data key with this binding."""
        try:
            _decrypt(self._keys[0], wrapped, binding)
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


def seal_value(data_key: bytes, place: Place, value: Any) -> str:
    """A value sealed for its place (`enc:v2:`): it opens only there."""
    blob = _encrypt(data_key, json.dumps(value).encode(), place.associated_data())
    return SEALED_PREFIX + base64.b64encode(blob).decode()


def open_value(data_key: bytes, place: Place, token: str) -> Any:
    """A sealed value opened at its place; a v1 value is checked against the client id only."""
    if not is_sealed(token):
        raise CryptoError("value is not sealed personal data")
    prefix = SEALED_PREFIX if token.startswith(SEALED_PREFIX) else LEGACY_PREFIX
    try:
        blob = base64.b64decode(token[len(prefix) :], validate=True)
    except ValueError as error:
        raise CryptoError("sealed value is not valid base64") from error
    context = place.associated_data() if prefix == SEALED_PREFIX else place.client_id
    return json.loads(_decrypt(data_key, blob, context))


def seal_fields(
    data_key: bytes, event: Place, data: dict[str, Any], personal: Iterable[str]
) -> dict[str, Any]:
    """A copy of an event's data with its personal fields sealed, each bound to its place
    (`event` names service, tenant, client and type; each field adds its name)."""
    personal = set(personal)
    cipher, head = AESGCM(data_key), event.associated_data()[:-4]  # without `,""]`

    def sealed(name: str, value: Any) -> str:  # seal_value's, with one cipher and head
        context = f"{head},{json.dumps(name)}]".encode()
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + cipher.encrypt(nonce, json.dumps(value).encode(), context)
        return SEALED_PREFIX + base64.b64encode(blob).decode()

    return {
        name: sealed(name, value) if name in personal and value is not None else value
        for name, value in data.items()
    }


def open_fields(
    data_key: bytes, event: Place, data: dict[str, Any], personal: Iterable[str]
) -> dict[str, Any]:
    """A copy of an event's data with its sealed personal fields opened at their place."""
    personal = set(personal)
    return {
        name: open_value(data_key, replace(event, field=name), value)
        if name in personal and is_sealed(value)
        else value
        for name, value in data.items()
    }


class PersonalDataKeys:
    """Per-client data keys kept in the service's own database, wrapped bound to the service,
    the tenant and the client; values sealed with them are bound to their place (`Place`)."""

    def __init__(self, master_key: MasterKey, service: str):
        self.master_key, self.service = master_key, service

    def binding(self, tenant_id: str, client_id: str) -> str:
        """The associated data a data key is wrapped with."""
        return json.dumps(["waypoint-data-key-v2", self.service, tenant_id, client_id])

    def _unwrap(self, wrapped: bytes, tenant_id: str, client_id: str) -> bytes:
        legacy = f"data-key:{client_id}"  # wraps made before keys were bound to their place
        return self.master_key.unwrap(wrapped, self.binding(tenant_id, client_id), legacy)

    def key_for(self, conn: Connection, tenant_id: str, client_id: str) -> bytes:
        """The client's data key, created on first use; never again once it was destroyed."""
        params = {"tenant_id": tenant_id, "client_id": client_id}
        [(wrapped, erased)] = _KEY_OR_ERASED.rows(conn, params)
        if wrapped is not None:
            return self._unwrap(wrapped, tenant_id, client_id)
        if erased:
            raise ClientErased(client_id)
        key = os.urandom(32)  # what AESGCM.generate_key(bit_length=256) gives
        self._store(conn, tenant_id, client_id, key)
        return key

    def _store(self, conn: Connection, tenant_id: str, client_id: str, key: bytes) -> None:
        row = {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "wrapped_key": self.master_key.wrap(key, self.binding(tenant_id, client_id)),
            "created_at": datetime.now(UTC),
        }
        _INSERT_KEY.rows(conn, row)

    def find(self, conn: Connection, tenant_id: str, client_id: str) -> bytes | None:
        params = {"tenant_id": tenant_id, "client_id": client_id}
        wrapped = conn.execute(_WRAPPED_KEY, params).scalar_one_or_none()
        return None if wrapped is None else self._unwrap(wrapped, tenant_id, client_id)

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

    def is_current(self, wrapped: bytes, tenant_id: str, client_id: str) -> bool:
        """Whether a stored wrap is by the newest master key and bound to its place."""
        return self.master_key.is_current(wrapped, self.binding(tenant_id, client_id))

    def rewrap(self, conn: Connection, tenant_id: str, client_id: str) -> bool:
        """Wrap one stored key with the newest master key, bound to service, tenant and client;
        returns whether it changed."""
        key_row = (data_keys.c.tenant_id == tenant_id, data_keys.c.client_id == client_id)
        wrapped = conn.execute(select(data_keys.c.wrapped_key).where(*key_row)).scalar()
        if wrapped is None or self.is_current(wrapped, tenant_id, client_id):
            return False
        key = self._unwrap(wrapped, tenant_id, client_id)
        rewrapped = self.master_key.wrap(key, self.binding(tenant_id, client_id))
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
        event_type: str,
        data: dict[str, Any],
        personal: tuple[str, ...],
    ) -> dict[str, Any]:
        """A copy of an event's data (of its full type, version included) with its personal
        fields sealed under the client's key, each bound to its place."""
        if not any(data.get(name) is not None for name in personal):
            return dict(data)
        key = self.key_for(conn, tenant_id, client_id)
        place = Place(self.service, tenant_id, client_id, event_type, "")
        return seal_fields(key, place, data, personal)

    def open(
        self,
        conn: Connection,
        tenant_id: str,
        client_id: str,
        event_type: str,
        data: dict[str, Any],
        personal: tuple[str, ...],
    ) -> dict[str, Any]:
        """A copy of an event's data as stored (its type and version before any upcast) with its
        personal fields opened; ClientErased when the key was destroyed, CryptoError when it is
        otherwise missing or wrong, or a value was moved from the place it was sealed for."""
        key = self.find(conn, tenant_id, client_id)
        if key is None and any(is_sealed(data.get(n)) for n in personal):
            if is_erased(conn, tenant_id, client_id):
                raise ClientErased(client_id)
            raise CryptoError(f"no data key for client {client_id}")
        if key is None:
            return dict(data)
        place = Place(self.service, tenant_id, client_id, event_type, "")
        return open_fields(key, place, data, personal)
