"""Intake's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from waypoint_intake.adapters import indexes
from waypoint_intake.adapters.tables import MIGRATIONS
from waypoint_intake.service_layer.handlers import Intake
from waypoint_shared.config import Settings
from waypoint_shared.crypto.sealing import PersonalDataKeys
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.runtime import open_database, personal_data_keys

EXTERNAL_ID_KEY = "external-id-hmac"


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    intake: Intake


def bootstrap(settings: Settings) -> Container:
    engine = open_database(settings, MIGRATIONS)
    store, keys = EventStore(), personal_data_keys(settings)
    external_id_key = run_in_transaction(
        engine, lambda conn: _external_id_key(conn, keys, settings)
    )
    intake = Intake.create(store, keys, external_id_key)
    return Container(settings, engine, store, intake)


def _external_id_key(conn: Connection, keys: PersonalDataKeys, settings: Settings) -> bytes:
    """The key external ids are hashed with: random for each database, stored wrapped like the
    data keys (so a master-key rotation keeps it), and the stored one is kept for good."""
    initial = _legacy_key(settings) if indexes.any_external_id(conn) else os.urandom(32)
    return keys.service_key(conn, EXTERNAL_ID_KEY, initial)


def _legacy_key(settings: Settings) -> bytes:
    """A database that registered external ids before the key was stored hashed them with a key
    derived from its (oldest) master key: it keeps that key, or its external ids would be lost."""
    oldest = settings.master_key.split(",")[-1].strip()
    return hashlib.sha256(b"external-id:" + base64.b64decode(oldest)).digest()
