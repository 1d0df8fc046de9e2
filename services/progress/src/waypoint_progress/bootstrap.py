"""Progress's composition root: settings in, wired dependencies out. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from waypoint_progress import config
from waypoint_progress.adapters.metrics import count_milestones
from waypoint_progress.adapters.tables import MIGRATIONS
from waypoint_progress.adapters.webhook_store import MIGRATIONS as WEBHOOK_MIGRATIONS
from waypoint_progress.service_layer.handlers import Progress
from waypoint_progress.service_layer.projector import Projector
from waypoint_progress.service_layer.webhooks import Webhooks
from waypoint_shared.config import Settings
from waypoint_shared.crypto.sealing import MasterKey
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.runtime import open_database, personal_data_keys


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    store: EventStore
    progress: Progress
    projector: Projector
    webhooks: Webhooks


def bootstrap(settings: Settings) -> Container:
    migrations = [*MIGRATIONS, *WEBHOOK_MIGRATIONS]
    engine = open_database(settings, migrations, observers=[count_milestones])
    store = EventStore()
    progress = Progress.create(store, personal_data_keys(settings), config.thresholds(settings))
    projector = Projector(progress.repository, progress.thresholds)
    webhooks = Webhooks(MasterKey(settings.master_key), config.webhook_settings(settings))
    return Container(settings, engine, store, progress, projector, webhooks)
