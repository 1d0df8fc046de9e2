"""Progress's worker: the outbox relay, the timeline projector over every topic, its lag, health.

Lag per partition is in the worker's /health/ready body (`consumer_lag`) and on its /metrics
(`waypoint_consumer_lag{group,topic,partition}`); milestones reached are counted by rule
(`waypoint_milestones_reached_total`) as the projector appends them.
"""

from __future__ import annotations

from waypoint_progress.entrypoints.app import SPEC
from waypoint_shared import service


def main() -> None:
    service.run_worker(SPEC)
