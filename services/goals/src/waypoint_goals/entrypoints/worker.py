"""Goals' worker: the outbox relay, the consumer of intake's events, its lag, and a
health/metrics listener (lag per partition in /health/ready's `consumer_lag` and on /metrics)."""

from __future__ import annotations

from waypoint_goals.entrypoints.app import SPEC
from waypoint_shared import service


def main() -> None:
    service.run_worker(SPEC)
