"""Fault 2: intake's worker (the outbox relay) SIGKILLed again and again while it publishes, under
a steady load of referrals. Every acknowledged referral reaches the timeline exactly once;
records republished on the topic by a relay that died before storing its position are absorbed.
"""

from __future__ import annotations

from typing import Any

import pytest

from waypoint_devkit.faults import (
    Tally,
    database,
    kill,
    poll_until,
    query,
    relay_backlog,
    restart_worker,
    scale,
    topic_duplicates,
)

from .conftest import Api, Referrals, settle

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.timeout(240 + 120 * scale())]
KILLS = 3 * scale()


def published(suite: Any) -> int:
    rows = query(database(suite.var_dir, "intake"), "SELECT position FROM relay_position")
    return int(rows[0][0]) if rows else 0


def kill_while_publishing(suite: Any, tally: Tally) -> None:
    """Wait for the relay to publish again after its restart (its lease is 5 s), then kill it
    the moment there is a backlog."""
    before, backlog = published(suite), [0]
    poll_until(lambda: published(suite) > before, timeout=30)

    def has_backlog() -> bool:  # the reading the kill follows (a second read raced the relay)
        backlog[0] = relay_backlog(suite.var_dir, "intake")
        return backlog[0] > 0

    poll_until(has_backlog, timeout=10, interval=0.01)
    kill(suite, "intake-worker")
    tally.fault(in_flight=backlog[0] > 0)
    restart_worker(suite, "intake")


def test_a_relay_killed_while_publishing_loses_and_duplicates_nothing(suite: Any) -> None:
    api, tally = Api(suite), Tally("relay SIGKILL")
    with Referrals(api, tally, threads=4):
        for _ in range(KILLS):
            kill_while_publishing(suite, tally)
    settle(suite, api, tally)
    topic = f"{suite.kafka.topic_prefix}waypoint.intake.events"
    tally.report(republished_on_topic=topic_duplicates(suite.kafka.bootstrap_servers, topic))
    tally.assert_sound(at_least=KILLS)
