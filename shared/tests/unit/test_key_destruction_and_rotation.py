"""Crypto-shredding destroys a client's key for good; a master-key rotation re-wraps every data key
while reads keep working with the old key, the new key, and then the new key alone."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from waypoint_shared.crypto import rotation as rotate_master_key
from waypoint_shared.crypto.sealing import ClientErased, CryptoError, MasterKey, PersonalDataKeys
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import data_keys

TENANT = "clinic-a"
SERVICE = "goals"
TYPE = "waypoint.goals.goal_proposed.v1"
PERSONAL = ("given_name",)
RECORD = {"given_name": "Zoë Ångström", "score": 14}


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def seal(engine: Engine, keys: PersonalDataKeys, client_id: str) -> dict[str, Any]:
    return run_in_transaction(
        engine, lambda conn: keys.seal(conn, TENANT, client_id, TYPE, RECORD, PERSONAL)
    )


def open_(
    engine: Engine, keys: PersonalDataKeys, client_id: str, sealed: dict[str, Any]
) -> dict[str, Any]:
    return run_in_transaction(
        engine, lambda conn: keys.open(conn, TENANT, client_id, TYPE, sealed, PERSONAL)
    )


def destroy(engine: Engine, client_id: str) -> None:
    run_in_transaction(engine, lambda conn: PersonalDataKeys.destroy(conn, TENANT, client_id))


def test_a_destroyed_key_leaves_the_client_unreadable_and_says_the_client_was_erased(
    engine: Engine,
) -> None:
    keys, client_id = PersonalDataKeys(MasterKey(new_key()), SERVICE), str(uuid.uuid4())
    sealed = seal(engine, keys, client_id)

    destroy(engine, client_id)

    with pytest.raises(ClientErased):
        open_(engine, keys, client_id, sealed)


def test_no_new_key_is_ever_made_for_an_erased_client(engine: Engine) -> None:
    keys, client_id = PersonalDataKeys(MasterKey(new_key()), SERVICE), str(uuid.uuid4())
    seal(engine, keys, client_id)
    destroy(engine, client_id)

    with pytest.raises(ClientErased):
        seal(engine, keys, client_id)
    with engine.connect() as conn:
        assert conn.execute(select(data_keys.c.client_id)).all() == []


def test_destroying_one_clients_key_leaves_every_other_client_readable(engine: Engine) -> None:
    keys = PersonalDataKeys(MasterKey(new_key()), SERVICE)
    erased, kept = str(uuid.uuid4()), str(uuid.uuid4())
    seal(engine, keys, erased)
    sealed = seal(engine, keys, kept)

    destroy(engine, erased)
    destroy(engine, erased)  # a second erasure (a replayed event) changes nothing

    assert open_(engine, keys, kept, sealed) == RECORD


def test_during_a_rotation_keys_wrapped_with_either_master_key_open(engine: Engine) -> None:
    old, new = new_key(), new_key()
    before, after = str(uuid.uuid4()), str(uuid.uuid4())
    sealed_before = seal(engine, PersonalDataKeys(MasterKey(old), SERVICE), before)
    rotating = PersonalDataKeys(MasterKey(f"{new},{old}"), SERVICE)
    sealed_after = seal(engine, rotating, after)

    assert open_(engine, rotating, before, sealed_before) == RECORD
    assert open_(engine, rotating, after, sealed_after) == RECORD
    assert open_(engine, PersonalDataKeys(MasterKey(new), SERVICE), after, sealed_after) == RECORD


def test_after_the_rewrap_the_new_master_key_alone_opens_everything(engine: Engine) -> None:
    old, new = new_key(), new_key()
    clients = [str(uuid.uuid4()) for _ in range(5)]
    sealed = {c: seal(engine, PersonalDataKeys(MasterKey(old), SERVICE), c) for c in clients}

    done = rotate_master_key.rotate(
        engine, PersonalDataKeys(MasterKey(f"{new},{old}"), SERVICE), batch=2
    )

    only_new = PersonalDataKeys(MasterKey(new), SERVICE)
    assert done == (5, 5)
    assert all(open_(engine, only_new, c, sealed[c]) == RECORD for c in clients)
    with pytest.raises(CryptoError):
        open_(engine, PersonalDataKeys(MasterKey(old), SERVICE), clients[0], sealed[clients[0]])


def test_running_the_rotation_again_rewraps_nothing(engine: Engine) -> None:
    old, new = new_key(), new_key()
    seal(engine, PersonalDataKeys(MasterKey(old), SERVICE), str(uuid.uuid4()))
    rotating = PersonalDataKeys(MasterKey(f"{new},{old}"), SERVICE)
    rotate_master_key.rotate(engine, rotating)

    assert rotate_master_key.rotate(engine, rotating) == (0, 1)


def test_the_rotation_command_reads_the_services_keys_from_its_environment(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new, client_id = new_key(), new_key(), str(uuid.uuid4())
    sealed = seal(engine, PersonalDataKeys(MasterKey(old), SERVICE), client_id)
    monkeypatch.setenv("GOALS_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("GOALS_MASTER_KEY", f"{new},{old}")

    rotate_master_key.main(["--service", "goals"])

    assert "goals: 1 of 1 data keys re-wrapped" in capsys.readouterr().out
    assert open_(engine, PersonalDataKeys(MasterKey(new), SERVICE), client_id, sealed) == RECORD


@pytest.mark.parametrize(
    "configured",
    ["", " , ", "c2hvcnQ=", f"{new_key()},c2hvcnQ="],
    ids=["empty", "commas", "short", "a good key, then a short one"],
)
def test_every_master_key_listed_must_be_32_bytes_of_base64(configured: str) -> None:
    with pytest.raises(ValueError, match="master key"):
        MasterKey(configured)
