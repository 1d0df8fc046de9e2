"""Progress's settings: the shared ones, read from PROGRESS_* and WAYPOINT_* variables."""

from waypoint_shared.config import Settings, load_settings


def settings() -> Settings:
    return load_settings("progress")
