"""Progress over HTTP with real SQLite in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from waypoint_devkit.apps import app_in
from waypoint_progress.entrypoints.app import create_app


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_in(create_app, tmp_path, monkeypatch)
