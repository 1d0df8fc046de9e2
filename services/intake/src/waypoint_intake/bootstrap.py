"""Intake's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_intake.adapters.tables import MIGRATIONS
from waypoint_intake.service_layer.handlers import Intake
from waypoint_shared.config import Settings
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
    store = EventStore()
    # A key for hashing external ids, derived from (not equal to) the master key.
    external_id_key = hashlib.sha256(b"external-id:" + base64.b64decode(settings.master_key))
    intake = Intake.create(store, personal_data_keys(settings), external_id_key.digest())
    return Container(settings, engine, store, intake)
