"""Intake's worker: the outbox relay (intake listens to no topic) and a health/metrics listener."""

from __future__ import annotations

from waypoint_intake.entrypoints.app import SPEC
from waypoint_shared import service


def main() -> None:
    service.run_worker(SPEC)
