"""Fault 3: progress's worker SIGKILLed again and again while it replays every topic from offset 0
(a fresh consumer over full topics). Once it has caught up, its timeline equals the one it had
before, and a clean rebuild gives the very same entries: same ids, times and order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from waypoint_devkit.faults import (
    Tally,
    applied_count,
    forget_projection,
    kill,
    poll_until,
    restart_worker,
    scale,
    stop,
    timeline_entries,
    whole_timeline,
)
from waypoint_devkit.suite import rebuild_timeline
from waypoint_devkit.waiting import wait_until

from .conftest import Api, Referrals, settle

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.timeout(300 + 150 * scale())]
KILLS, CLIENTS = 2 * scale(), 300 * scale()
# Records per transaction in the replay: fewer than the worker's default, so the replay of these
# clients' records takes several batches and each kill lands while it is in flight.
REPLAY_BATCH = "200"


@contextmanager
def consumer_batch(suite: Any, records: str) -> Iterator[None]:
    """Workers (re)started inside apply at most `records` records per transaction."""
    suite.env["WAYPOINT_CONSUMER_BATCH"] = records
    try:
        yield
    finally:
        del suite.env["WAYPOINT_CONSUMER_BATCH"]


def kill_mid_replay(suite: Any, group: str, total: int, tally: Tally) -> None:
    """Kill the worker as soon as it has applied another batch, if the replay is not done."""
    before = applied_count(suite.var_dir, "progress", group)
    poll_until(
        lambda: applied_count(suite.var_dir, "progress", group) > before, timeout=60, interval=0.01
    )
    remaining = total - applied_count(suite.var_dir, "progress", group)
    kill(suite, "progress-worker")
    tally.fault(in_flight=remaining > 0)
    restart_worker(suite, "progress")


def rebuild(suite: Any) -> None:
    rebuild_timeline(suite, timeout=300)


def test_a_projector_killed_during_a_replay_ends_with_the_timeline_of_a_clean_rebuild(
    suite: Any,
) -> None:
    api, tally = Api(suite), Tally("projector SIGKILL in replay")
    group = f"{suite.kafka.topic_prefix}waypoint-progress"
    with Referrals(api, tally, threads=6, limit=CLIENTS):
        pass
    settle(suite, api, tally)
    before, total = whole_timeline(suite.var_dir), applied_count(suite.var_dir, "progress", group)
    stop(suite, "progress-worker")
    forget_projection(suite.var_dir, group)
    with consumer_batch(suite, REPLAY_BATCH):
        restart_worker(suite, "progress")
        for _ in range(KILLS):
            kill_mid_replay(suite, group, total, tally)
    wait_until(
        lambda: applied_count(suite.var_dir, "progress", group) >= total,
        timeout=120 * scale(),
        what="the replay to finish",
    )
    replayed = whole_timeline(suite.var_dir)
    tally.projected = timeline_entries(suite.var_dir, api.tenant, "client_referred")
    rebuild(suite)
    rebuilt = whole_timeline(suite.var_dir)
    tally.report(replayed_records=total, entries=len(replayed))

    assert replayed == before
    assert rebuilt == replayed
    tally.assert_sound(at_least=KILLS)
