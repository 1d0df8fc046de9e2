"""The rate limiter's counters on every storage adapter: a bucket of one second of requests,
refilled at the rate, counted together by every process that shares the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from waypoint_shared.db.database import connect, migrate
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS
from waypoint_shared.http.ratelimit import MIGRATIONS, RateLimiter


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    migrate(engine, [*SHARED_MIGRATIONS, *MIGRATIONS])
    yield engine
    engine.dispose()


def test_a_token_is_admitted_for_one_second_of_requests_then_told_when_to_retry(
    engine: Engine,
) -> None:
    limiter = RateLimiter(engine, rate=10)
    decisions = [limiter.admit("intake:a") for _ in range(15)]
    assert [d.admitted for d in decisions] == [True] * 10 + [False] * 5
    assert all(d.retry_after == 1 for d in decisions[10:])


def test_two_limiters_on_one_database_count_together_and_other_tokens_apart(
    engine: Engine,
) -> None:
    first, second = RateLimiter(engine, rate=4), RateLimiter(connect(str(engine.url)), rate=4)
    admitted = [limiter.admit("intake:a").admitted for limiter in (first, second) * 3]
    assert admitted == [True] * 4 + [False] * 2
    assert second.admit("intake:b").admitted


def test_a_refused_token_is_refused_from_memory_until_its_next_request_fits(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RateLimiter(engine, rate=2)
    assert [limiter.admit("intake:a").admitted for _ in range(3)] == [True, True, False]
    asked: list[str] = []
    counted = limiter.counters.admit

    def admit(params: dict[str, Any]) -> float | None:
        asked.append(params["key"])
        return counted(params)

    monkeypatch.setattr(limiter.counters, "admit", admit)

    flood = [limiter.admit("intake:a") for _ in range(50)]
    other = limiter.admit("intake:b")

    assert not any(d.admitted for d in flood) and all(d.retry_after == 1 for d in flood)
    assert asked == ["intake:b"] and other.admitted  # the flood never reached the shared store
