"""The SQLite deployments' rate-limit counters, a table mapped into every process: processes
count one token together, a forked worker locks on its own, and a full table never refuses a
token it forgot (it gives it a full bucket again)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from waypoint_shared.http import ratelimit
from waypoint_shared.http.ratelimit import RateLimiter


def limiter_on(tmp_path: Path, rate: float = 4) -> RateLimiter:
    return RateLimiter(create_engine(f"sqlite:///{tmp_path / 'intake.db'}"), rate=rate)


def _admit_three_in_a_child(
    limiter: RateLimiter, answers: multiprocessing.Queue[list[bool]]
) -> None:
    answers.put([limiter.admit("intake:a").admitted for _ in range(3)])


def test_a_forked_worker_counts_with_its_parent_through_the_file(tmp_path: Path) -> None:
    limiter = limiter_on(tmp_path)
    parent = [limiter.admit("intake:a").admitted for _ in range(2)]
    fork = multiprocessing.get_context("fork")
    answers: multiprocessing.Queue[list[bool]] = fork.Queue()
    child = fork.Process(target=_admit_three_in_a_child, args=(limiter, answers))
    child.start()
    child.join(30)

    assert parent == [True, True]
    assert answers.get(timeout=5) == [True, True, False]  # the bucket of four is one bucket
    assert (tmp_path / "intake.db.ratelimit-map").stat().st_size == ratelimit.SLOTS * 32


def test_a_token_whose_slot_was_taken_over_gets_a_full_bucket_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "SLOTS", 1)  # every key's probes meet in one slot
    limiter = RateLimiter(create_engine("sqlite://"), rate=2)
    assert [limiter.admit("intake:a").admitted for _ in range(3)] == [True, True, False]

    other = limiter.admit("intake:b")
    limiter._refused_until.clear()  # as another process would ask, with no refusal in memory

    assert other.admitted
    assert [limiter.admit("intake:a").admitted for _ in range(3)] == [True, True, False]


def test_a_slot_idle_for_a_minute_is_free_for_another_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "SLOTS", 1)
    counters = ratelimit.MappedCounters(create_engine("sqlite://"))
    then = {"interval": 0.5, "tolerance": 1.0, "now": 1_000.0}
    assert counters.admit({**then, "key": "intake:a"}) is None
    assert counters.admit({**then, "key": "intake:a"}) is None
    assert counters.admit({**then, "key": "intake:a"}) == 1_001.0  # full: refused, with its tat

    later = {**then, "now": 1_000.0 + ratelimit.FREE_AFTER_SECONDS + 2}
    assert counters.admit({**later, "key": "intake:b"}) is None
    assert counters.admit({**later, "key": "intake:b"}) is None
    assert counters.admit({**later, "key": "intake:b"}) is not None
