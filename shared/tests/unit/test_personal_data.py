"""Personal data is sealed per client under a wrapped data key, and never opens into garbage."""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select

from waypoint_shared.crypto.sealing import (
    CryptoError,
    MasterKey,
    PersonalDataKeys,
    Place,
    is_sealed,
    open_value,
    seal_value,
)
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import data_keys

TENANT = "clinic-a"
SERVICE = "intake"
TYPE = "waypoint.intake.client_referred.v1"
PERSONAL = ("given_name", "concerns", "email")
RECORD = {
    "given_name": "Zoë Ångström-Nakamura 中村",
    "concerns": ["Schlafstörungen", "ansiedade", "不安"],
    "email": None,
    "interpreter_needed": True,
    "score": 14,
}


def at(client_id: str, field: str = "given_name") -> Place:
    return Place(SERVICE, TENANT, client_id, TYPE, field)


def a_master_key() -> MasterKey:
    return MasterKey(base64.b64encode(os.urandom(32)).decode())


def seal(
    engine: Engine, keys: PersonalDataKeys, client_id: str, data: dict[str, Any] = RECORD
) -> dict[str, Any]:
    return run_in_transaction(
        engine, lambda conn: keys.seal(conn, TENANT, client_id, TYPE, data, PERSONAL)
    )


def open_(
    engine: Engine, keys: PersonalDataKeys, client_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    return run_in_transaction(
        engine, lambda conn: keys.open(conn, TENANT, client_id, TYPE, data, PERSONAL)
    )


def key_rows(engine: Engine) -> int:
    return run_in_transaction(
        engine, lambda conn: conn.execute(select(func.count()).select_from(data_keys)).scalar_one()
    )


def test_personal_fields_open_to_exactly_what_was_sealed_including_non_ascii_and_lists(
    engine: Engine,
) -> None:
    keys = PersonalDataKeys(a_master_key(), SERVICE)
    client_id = str(uuid.uuid4())

    sealed = seal(engine, keys, client_id)

    assert is_sealed(sealed["given_name"]) and is_sealed(sealed["concerns"])
    assert open_(engine, keys, client_id, sealed) == RECORD


def test_only_personal_fields_are_sealed_and_absent_values_stay_absent(engine: Engine) -> None:
    sealed = seal(engine, PersonalDataKeys(a_master_key(), SERVICE), str(uuid.uuid4()))

    assert sealed["email"] is None
    assert sealed["interpreter_needed"] is True
    assert sealed["score"] == 14


def test_a_sealed_value_contains_none_of_its_plaintext() -> None:
    key, client_id = os.urandom(32), str(uuid.uuid4())
    for value in ("Zoë Ångström-Nakamura", "alex.rivers@example.org", ["I feel alone lately"]):
        token = seal_value(key, at(client_id), value)
        blob = base64.b64decode(token.removeprefix("enc:v2:"))
        for text in value if isinstance(value, list) else [value]:
            assert text not in token
            assert text.encode() not in blob
            assert json.dumps(text).encode() not in blob


def test_sealing_the_same_value_twice_gives_different_ciphertexts_that_cannot_be_linked() -> None:
    key, client_id = os.urandom(32), str(uuid.uuid4())

    first, second = (seal_value(key, at(client_id), "Sam") for _ in range(2))

    assert first != second
    assert open_value(key, at(client_id), first) == open_value(key, at(client_id), second) == "Sam"


def test_a_wrong_master_key_is_refused_not_garbled(engine: Engine) -> None:
    client_id = str(uuid.uuid4())
    sealed = seal(engine, PersonalDataKeys(a_master_key(), SERVICE), client_id)

    with pytest.raises(CryptoError):
        open_(engine, PersonalDataKeys(a_master_key(), SERVICE), client_id, sealed)


def test_a_tampered_ciphertext_is_refused_not_garbled() -> None:
    key, client_id = os.urandom(32), str(uuid.uuid4())
    blob = base64.b64decode(seal_value(key, at(client_id), "Robin").removeprefix("enc:v2:"))

    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        token = "enc:v2:" + base64.b64encode(bytes(tampered)).decode()
        with pytest.raises(CryptoError):
            open_value(key, at(client_id), token)


@pytest.mark.parametrize(
    "token",
    [
        *(f"enc:v{n}:{tail}" for n in (1, 2) for tail in ("", "AAAA", "not base64!", "A" * 40)),
        "Robin",
        "",
    ],
)
def test_a_truncated_malformed_or_unsealed_token_is_refused(token: str) -> None:
    with pytest.raises(CryptoError):
        open_value(os.urandom(32), at(str(uuid.uuid4())), token)


def test_a_value_sealed_for_another_client_does_not_open_even_with_the_same_key() -> None:
    key = os.urandom(32)
    token = seal_value(key, at("client-a"), "Robin")

    with pytest.raises(CryptoError):
        open_value(key, at("client-b"), token)


def test_a_value_sealed_for_another_client_does_not_open_under_this_clients_key(
    engine: Engine,
) -> None:
    keys = PersonalDataKeys(a_master_key(), SERVICE)
    theirs, mine = str(uuid.uuid4()), str(uuid.uuid4())
    sealed_for_them = seal(engine, keys, theirs)
    seal(engine, keys, mine)

    with pytest.raises(CryptoError):
        open_(engine, keys, mine, sealed_for_them)


def test_a_destroyed_key_leaves_only_ciphertext_that_cannot_be_opened(engine: Engine) -> None:
    keys = PersonalDataKeys(a_master_key(), SERVICE)
    client_id = str(uuid.uuid4())
    sealed = seal(engine, keys, client_id)

    run_in_transaction(
        engine,
        lambda conn: conn.execute(delete(data_keys).where(data_keys.c.client_id == client_id)),
    )

    with pytest.raises(CryptoError):
        open_(engine, keys, client_id, sealed)


def test_each_client_gets_one_data_key_that_is_reused(engine: Engine) -> None:
    keys = PersonalDataKeys(a_master_key(), SERVICE)
    alex, sam = str(uuid.uuid4()), str(uuid.uuid4())

    def key_for(client_id: str) -> bytes:
        return run_in_transaction(engine, lambda conn: keys.key_for(conn, TENANT, client_id))

    first = key_for(alex)
    assert key_for(alex) == first
    seal(engine, keys, alex)
    assert key_rows(engine) == 1
    assert key_for(sam) != first
    assert key_rows(engine) == 2


def test_the_stored_data_key_is_wrapped_not_kept_in_the_clear(engine: Engine) -> None:
    keys = PersonalDataKeys(a_master_key(), SERVICE)
    client_id = str(uuid.uuid4())

    key = run_in_transaction(engine, lambda conn: keys.key_for(conn, TENANT, client_id))
    wrapped = run_in_transaction(
        engine, lambda conn: conn.execute(select(data_keys.c.wrapped_key)).scalar_one()
    )

    assert key not in wrapped


def test_a_master_key_of_the_wrong_length_is_rejected_at_startup() -> None:
    with pytest.raises(ValueError):
        MasterKey(base64.b64encode(os.urandom(16)).decode())
