"""Intake's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_intake.adapters.tables import MIGRATIONS
from waypoint_intake.service_layer.handlers import Intake
from waypoint_shared.config import Settings
from waypoint_shared.database import run_in_transaction
from waypoint_shared.runtime import open_database, personal_data_keys
from waypoint_shared.store import EventStore


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    intake: Intake


def bootstrap(settings: Settings) -> Container:
    engine = open_database(settings, MIGRATIONS)
    store, keys = EventStore(), personal_data_keys(settings)
    first = _first_external_id_key(settings)
    external_id_key = run_in_transaction(
        engine, lambda conn: keys.service_key(conn, "external-id-hmac", first)
    )
    intake = Intake.create(store, keys, external_id_key)
    return Container(settings, engine, store, intake)


def _first_external_id_key(settings: Settings) -> bytes:
    """The key external ids were always hashed with: derived from the master key in use when it
    was first stored (the oldest one listed). Stored wrapped, so a rotation keeps it unchanged."""
    oldest = settings.master_key.split(",")[-1].strip()
    return hashlib.sha256(b"external-id:" + base64.b64decode(oldest)).digest()
