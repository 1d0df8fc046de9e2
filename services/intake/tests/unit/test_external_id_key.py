"""Intake's external-id hash key: random for each database, kept wrapped like the data keys, and
never derived from the master key (whose development value is public)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from sqlalchemy import Connection, insert, select

from waypoint_intake.adapters.tables import external_ids
from waypoint_intake.bootstrap import EXTERNAL_ID_KEY, bootstrap
from waypoint_shared.config import DEVELOPMENT_MASTER_KEY, load_settings
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import data_keys


def opened(var_dir: Path) -> bytes:
    container = bootstrap(load_settings("intake", {"WAYPOINT_VAR_DIR": str(var_dir)}))
    try:
        return container.intake.external_id_key
    finally:
        container.engine.dispose()


def derived_from_the_master_key() -> bytes:
    return hashlib.sha256(b"external-id:" + base64.b64decode(DEVELOPMENT_MASTER_KEY)).digest()


def test_two_databases_with_the_same_master_key_hash_external_ids_with_different_keys(
    tmp_path: Path,
) -> None:
    first, second = opened(tmp_path / "a"), opened(tmp_path / "b")

    assert len(first) == 32 and first != second
    assert derived_from_the_master_key() not in (first, second)


def test_a_database_keeps_its_key_across_restarts_and_stores_it_only_wrapped(
    tmp_path: Path,
) -> None:
    key = opened(tmp_path)

    assert opened(tmp_path) == key
    container = bootstrap(load_settings("intake", {"WAYPOINT_VAR_DIR": str(tmp_path)}))
    with container.engine.connect() as conn:
        stored = conn.execute(
            select(data_keys.c.wrapped_key).where(data_keys.c.client_id == EXTERNAL_ID_KEY)
        ).scalar_one()
    container.engine.dispose()
    assert key not in bytes(stored)


def test_a_register_made_before_the_key_was_stored_keeps_the_key_it_was_hashed_with(
    tmp_path: Path,
) -> None:
    container = bootstrap(load_settings("intake", {"WAYPOINT_VAR_DIR": str(tmp_path)}))
    row = {"tenant_id": "clinic-a", "external_id_hash": "h", "client_id": "c-1"}

    def as_before_keys_were_stored(conn: Connection) -> None:
        conn.execute(data_keys.delete().where(data_keys.c.client_id == EXTERNAL_ID_KEY))
        conn.execute(insert(external_ids), row)

    run_in_transaction(container.engine, as_before_keys_were_stored)
    container.engine.dispose()

    assert opened(tmp_path) == derived_from_the_master_key()
