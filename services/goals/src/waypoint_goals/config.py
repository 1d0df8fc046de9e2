"""Goals' settings: the shared ones, read from GOALS_* and WAYPOINT_* variables; a production
process refuses to start with development or missing secrets (waypoint_shared.config)."""

from waypoint_shared.config import Settings, process_settings


def settings() -> Settings:
    return process_settings("goals")
