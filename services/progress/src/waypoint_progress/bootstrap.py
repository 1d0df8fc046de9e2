"""Progress's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_progress.adapters.tables import MIGRATIONS
from waypoint_progress.domain.timeline import EVENTS
from waypoint_progress.service_layer.projector import Projector
from waypoint_shared.config import Settings
from waypoint_shared.repository import EventSourcedRepository
from waypoint_shared.runtime import open_database, personal_data_keys
from waypoint_shared.store import EventStore


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    projector: Projector


def bootstrap(settings: Settings) -> Container:
    engine = open_database(settings, MIGRATIONS)
    store = EventStore()
    repository = EventSourcedRepository("progress", store, personal_data_keys(settings), EVENTS)
    return Container(settings, engine, store, Projector(repository))
