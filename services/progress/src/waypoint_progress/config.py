"""Progress's settings: the shared ones, read from PROGRESS_* and WAYPOINT_* variables, and the
clinical thresholds (`PROGRESS_PHQ9_CASENESS`, …), NHS Talking Therapies values by default. A
production process refuses to start with development or missing secrets (waypoint_shared.config).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from waypoint_progress.domain.scoring import Thresholds
from waypoint_shared.config import Settings, process_settings


def settings() -> Settings:
    return process_settings("progress")


def thresholds(settings: Settings) -> Thresholds:
    """Each field of Thresholds from `PROGRESS_<FIELD>`, e.g. PROGRESS_SRS_ALLIANCE=36."""
    overrides: dict[str, Any] = {}
    for field in dataclasses.fields(Thresholds):
        value = settings.extra.get(f"PROGRESS_{field.name.upper()}")
        if value is not None:
            overrides[field.name] = _parsed(field, value)
    return Thresholds(**overrides)


def _parsed(field: dataclasses.Field[Any], value: str) -> int | float:
    """A threshold from its environment text, as the type of its default."""
    return float(value) if isinstance(field.default, float) else int(value)
