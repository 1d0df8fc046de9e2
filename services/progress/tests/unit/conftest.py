"""Progress over HTTP with real SQLite in tmp_path."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from waypoint_devkit.apps import app_in
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.entrypoints.app import create_app
from waypoint_shared.config import load_settings


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_in(create_app, tmp_path, monkeypatch)


@pytest.fixture
def progress() -> Iterator[Container]:
    """Progress's container on its own SQLite database: the real projector and store."""
    with tempfile.TemporaryDirectory() as var:
        container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": var}))
        yield container
        container.engine.dispose()
