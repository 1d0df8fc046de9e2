"""Goals' settings: the shared ones, read from GOALS_* and WAYPOINT_* variables."""

from waypoint_shared.config import Settings, load_settings


def settings() -> Settings:
    return load_settings("goals")
