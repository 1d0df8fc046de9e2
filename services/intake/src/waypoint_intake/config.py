"""Intake's settings: the shared ones, read from INTAKE_* and WAYPOINT_* variables."""

from waypoint_shared.config import Settings, load_settings


def settings() -> Settings:
    return load_settings("intake")
