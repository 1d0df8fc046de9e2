"""The shared kit's unit tests: a SQLite store with the shared tables, in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from waypoint_shared.db.database import connect, migrate
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = connect("sqlite:///" + str(tmp_path / "keys.db"))
    migrate(engine, SHARED_MIGRATIONS)
    yield engine
    engine.dispose()
