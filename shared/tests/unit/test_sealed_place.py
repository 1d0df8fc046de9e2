"""A sealed value is bound to its place — service, tenant, client, event type and field — and a
data key's wrap to its service, tenant and client; values and wraps of the first format still open
and a rotation re-wraps the old wraps with the binding."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from marshmallow import Schema, fields
from sqlalchemy import Connection, Engine, insert, select

from waypoint_shared import catalog
from waypoint_shared.catalog.events.common import EventType, personal
from waypoint_shared.crypto import rotation as rotate_master_key
from waypoint_shared.crypto.sealing import (
    NONCE_BYTES,
    CryptoError,
    MasterKey,
    PersonalDataKeys,
    Place,
    open_value,
    seal_fields,
    seal_value,
)
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import data_keys
from waypoint_shared.eventstore.repository import EventSourcedRepository
from waypoint_shared.eventstore.store import Append, EventStore, NewEvent

HERE = Place(
    "intake", "clinic-a", str(uuid.uuid4()), "waypoint.intake.client_referred.v1", "given_name"
)


def master() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_value_opens_at_the_place_it_was_sealed_for() -> None:
    key = os.urandom(32)

    token = seal_value(key, HERE, "Amara")

    assert token.startswith("enc:v2:")
    assert open_value(key, HERE, token) == "Amara"


def test_the_fields_of_an_event_are_each_sealed_for_their_own_place() -> None:
    key, event = os.urandom(32), dataclasses.replace(HERE, field="")
    data = {"given_name": "Amära", "email": None, "concerns": ["sleep"], "language": "de"}

    sealed = seal_fields(key, event, data, ("given_name", "email", "concerns"))

    assert sealed["email"] is None and sealed["language"] == "de"
    for name in ("given_name", "concerns"):
        place = dataclasses.replace(HERE, field=name)
        assert open_value(key, place, sealed[name]) == data[name]
        other = dataclasses.replace(HERE, field="family_name")
        with pytest.raises(CryptoError):
            open_value(key, other, sealed[name])


@pytest.mark.parametrize(
    "moved",
    [
        {"field": "family_name"},
        {"event_type": "waypoint.intake.client_details_corrected.v1"},
        {"event_type": "waypoint.intake.client_referred.v2"},
        {"client_id": str(uuid.uuid4())},
        {"tenant_id": "clinic-b"},
        {"service": "goals"},
    ],
    ids=[
        "another field",
        "another event type",
        "another version",
        "another client",
        "another tenant",
        "another service",
    ],
)
def test_a_value_moved_to_another_place_does_not_open_even_under_the_same_key(
    moved: dict[str, str],
) -> None:
    key = os.urandom(32)
    token = seal_value(key, HERE, "Amara")

    with pytest.raises(CryptoError):
        open_value(key, dataclasses.replace(HERE, **moved), token)


def legacy_seal(key: bytes, client_id: str, value: object) -> str:
    """A value as the first format sealed it: bound to the client id only."""
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(key).encrypt(nonce, json.dumps(value).encode(), client_id.encode())
    return "enc:v1:" + base64.b64encode(blob).decode()


def test_a_value_of_the_first_format_still_opens_for_its_client() -> None:
    key = os.urandom(32)
    token = legacy_seal(key, HERE.client_id, ["ansiedade", "不安"])

    assert open_value(key, HERE, token) == ["ansiedade", "不安"]
    with pytest.raises(CryptoError):
        open_value(key, dataclasses.replace(HERE, client_id=str(uuid.uuid4())), token)


def key_of(engine: Engine, keys: PersonalDataKeys, tenant: str, client: str) -> bytes | None:
    return run_in_transaction(engine, lambda conn: keys.find(conn, tenant, client))


def test_a_wrapped_data_key_moved_to_another_tenant_or_read_by_another_service_does_not_open(
    engine: Engine,
) -> None:
    secret = master()
    intake = PersonalDataKeys(MasterKey(secret), "intake")
    client = str(uuid.uuid4())
    run_in_transaction(engine, lambda conn: intake.key_for(conn, "clinic-a", client))
    with engine.begin() as conn:
        [row] = conn.execute(select(data_keys)).mappings().all()
        conn.execute(insert(data_keys).values({**row, "tenant_id": "clinic-b"}))

    with pytest.raises(CryptoError):
        key_of(engine, intake, "clinic-b", client)
    with pytest.raises(CryptoError):  # the same master key configured for another service
        key_of(engine, PersonalDataKeys(MasterKey(secret), "goals"), "clinic-a", client)


def store_legacy_wrap(engine: Engine, secret: str, tenant: str, client: str) -> bytes:
    """A data key as wraps were made before they were bound: associated data `data-key:<id>`."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    wrapping = base64.b64decode(secret)
    wrapped = nonce + AESGCM(wrapping).encrypt(nonce, data_key, f"data-key:{client}".encode())
    row = {"tenant_id": tenant, "client_id": client, "wrapped_key": wrapped}
    with engine.begin() as conn:
        conn.execute(insert(data_keys).values(**row, created_at=datetime.now(UTC)))
    return data_key


def test_a_wrap_of_the_first_format_still_unwraps(engine: Engine) -> None:
    secret, client = master(), str(uuid.uuid4())
    data_key = store_legacy_wrap(engine, secret, "clinic-a", client)

    keys = PersonalDataKeys(MasterKey(secret), "intake")
    assert key_of(engine, keys, "clinic-a", client) == data_key


def test_the_rotation_rewraps_wraps_of_the_first_format_with_their_binding(engine: Engine) -> None:
    secret = master()
    clients = [str(uuid.uuid4()) for _ in range(3)]
    data_keys_before = {c: store_legacy_wrap(engine, secret, "clinic-a", c) for c in clients}
    keys = PersonalDataKeys(MasterKey(secret), "intake")  # the same master key: only the binding

    assert rotate_master_key.rotate(engine, keys) == (3, 3)

    with engine.connect() as conn:
        rows = conn.execute(select(data_keys.c.client_id, data_keys.c.wrapped_key)).all()
    for client, wrapped in rows:
        assert keys.is_current(wrapped, "clinic-a", client)
        assert key_of(engine, keys, "clinic-a", client) == data_keys_before[client]
    assert rotate_master_key.rotate(engine, keys) == (0, 3)


class NoteV1(Schema):
    client_id = fields.UUID(required=True)
    words = personal(fields.String(required=True))


class NoteV2(Schema):
    client_id = fields.UUID(required=True)
    text = personal(fields.String(required=True))


@dataclass(frozen=True)
class NoteTaken:
    client_id: str
    text: str


def test_a_stored_event_is_opened_as_the_version_it_was_sealed_under_then_upcast(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1, v2 = (
        EventType("intake", "note_taken", 1, NoteV1),
        EventType("intake", "note_taken", 2, NoteV2),
    )
    monkeypatch.setitem(catalog.CATALOG, v1.type, v1)
    monkeypatch.setitem(catalog.CATALOG, v2.type, v2)
    monkeypatch.setitem(
        catalog.UPCASTERS,
        v1.type,
        lambda data: (v2.type, {"client_id": data["client_id"], "text": data["words"]}),
    )
    keys, store = PersonalDataKeys(MasterKey(master()), "intake"), EventStore()
    repository = EventSourcedRepository("intake", store, keys, [NoteTaken])
    client = str(uuid.uuid4())

    def store_v1(conn: Connection) -> None:
        sealed = keys.seal(
            conn, "clinic-a", client, v1.type, {"client_id": client, "words": "Hi"}, ("words",)
        )
        store.append(
            conn, [Append("clinic-a", client, client, 0, [NewEvent(v1.type, 1, sealed)], {})]
        )

    run_in_transaction(engine, store_v1)
    [(event, _)] = run_in_transaction(
        engine, lambda conn: repository.replay(conn, "clinic-a", client)
    )

    assert event == NoteTaken(client_id=client, text="Hi")
