"""What the progress blueprints share: the container, typed."""

from __future__ import annotations

from waypoint_progress.bootstrap import Container
from waypoint_shared.http.web import current_container


def container() -> Container:
    return current_container(Container)
