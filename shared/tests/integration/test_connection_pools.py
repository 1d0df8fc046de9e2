"""A web worker's PostgreSQL pools keep a session open for each of its request threads, so a busy
worker does not open a new one per request (each is a new backend process on the server): the
service's engine and the rate limiter's own autocommit pool alike."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, event, text

from waypoint_shared.db.database import connect, migrate
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS
from waypoint_shared.http.ratelimit import MIGRATIONS, RateLimiter

pytestmark = [pytest.mark.postgres]

THREADS = 8  # a web worker's request threads (WEB_THREADS)
ROUNDS = 20


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = connect(postgres_url, THREADS)
    migrate(engine, [*SHARED_MIGRATIONS, *MIGRATIONS])
    yield engine
    engine.dispose()


def sessions_opened(engine: Engine) -> list[object]:
    """A list that grows by one each time the engine opens a session."""
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    return opened


def all_threads_at_once(work: Callable[[int], object]) -> None:
    """Each round, every thread calls work at the same moment."""
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def thread(number: int) -> None:
        try:
            for _ in range(ROUNDS):
                start.wait(timeout=30)
                work(number)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_the_service_engine_opens_no_more_sessions_than_the_threads_using_it(
    engine: Engine,
) -> None:
    engine.dispose()  # none open yet
    opened = sessions_opened(engine)

    def read(_number: int) -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.002)"))

    all_threads_at_once(read)

    assert len(opened) <= THREADS


def test_the_rate_limiter_opens_no_more_sessions_than_the_threads_asking_it(
    engine: Engine,
) -> None:
    limiter = RateLimiter(engine, rate=1_000_000, connections=THREADS)
    opened = sessions_opened(limiter.counters.engine)  # type: ignore[attr-defined]

    all_threads_at_once(lambda number: limiter.admit(f"intake:token-{number}"))

    assert len(opened) <= THREADS
