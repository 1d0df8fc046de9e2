"""Progress's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_progress import config
from waypoint_progress.adapters.metrics import count_milestones
from waypoint_progress.adapters.tables import MIGRATIONS
from waypoint_progress.service_layer.handlers import Progress
from waypoint_progress.service_layer.projector import Projector
from waypoint_shared.config import Settings
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.runtime import open_database, personal_data_keys


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    progress: Progress
    projector: Projector


def bootstrap(settings: Settings) -> Container:
    engine = open_database(settings, MIGRATIONS, observers=[count_milestones])
    store = EventStore()
    progress = Progress.create(store, personal_data_keys(settings), config.thresholds(settings))
    projector = Projector(progress.repository, progress.thresholds)
    return Container(settings, engine, store, progress, projector)
