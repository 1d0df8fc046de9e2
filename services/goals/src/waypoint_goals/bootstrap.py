"""Goals' composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_goals.adapters.tables import MIGRATIONS
from waypoint_goals.service_layer.handlers import Goals
from waypoint_shared.config import Settings
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.runtime import open_database, personal_data_keys


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    goals: Goals


def bootstrap(settings: Settings) -> Container:
    engine = open_database(settings, MIGRATIONS)
    store = EventStore()
    return Container(settings, engine, store, Goals.create(store, personal_data_keys(settings)))
