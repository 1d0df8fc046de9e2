"""Fault 1: the broker stopped in the middle of a burst of referrals and started again after a few
seconds. Intake keeps acknowledging (the events table is the outbox); once the broker is back the
relay catches up and every acknowledged referral reaches the timeline exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from waypoint_devkit.faults import Tally, relay_backlog, scale

from .conftest import Api, Referrals, settle, start_suite

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.timeout(300 + 60 * scale())]
OUTAGES, OUTAGE_SECONDS = scale(), 4


@pytest.fixture
def suite_on_own_broker(own_kafka: Any, tmp_path: Any) -> Iterator[Any]:
    running = start_suite(tmp_path / "suite", own_kafka.bootstrap)
    try:
        yield running
    finally:
        running.context.__exit__(None, None, None)


def outage(broker: Any, suite: Any, tally: Tally) -> None:
    """Stop the broker while referrals keep coming; count it if events waited for it."""
    time.sleep(1)
    broker.stop()
    time.sleep(OUTAGE_SECONDS)
    waiting = relay_backlog(suite.var_dir, "intake")
    broker.start()
    tally.fault(in_flight=waiting > 0)


def test_a_broker_outage_during_a_burst_loses_and_duplicates_nothing(
    own_kafka: Any, suite_on_own_broker: Any
) -> None:
    suite = suite_on_own_broker
    api, tally = Api(suite), Tally("broker stopped")
    with Referrals(api, tally, threads=2):
        for _ in range(OUTAGES):
            outage(own_kafka, suite, tally)
        time.sleep(1)
    settle(suite, api, tally)
    tally.report(outage_seconds=OUTAGE_SECONDS)
    tally.assert_sound(at_least=OUTAGES)
