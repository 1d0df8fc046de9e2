"""On PostgreSQL a consumer's batches keep looking up their applied ids in the index, batch after
batch, while the tables are still taken for empty (a new deployment catching up, before
autovacuum has analyzed them): a plan PostgreSQL kept without the batch's ids read every applied
id of the group for each batch, each batch slower than the one before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Connection, Engine, text

from waypoint_devkit.faults import referral_record
from waypoint_shared.db.database import connect, migrate
from waypoint_shared.eventstore.store import SHARED_MIGRATIONS
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.envelope import Envelope

pytestmark = [pytest.mark.postgres]

TOPIC = "waypoint.intake.events"
BATCHES, PER_BATCH = 15, 200  # PostgreSQL may keep a generic plan from the tenth execution


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = connect(postgres_url, 1)  # one session: the one whose prepared statements we read
    migrate(engine, SHARED_MIGRATIONS)
    yield engine
    engine.dispose()


def a_record(offset: int) -> ConsumerRecord:
    client_id = str(uuid.uuid4())
    key, value = client_id.encode(), referral_record(client_id)
    return ConsumerRecord(TOPIC, 0, 0, offset, 0, 0, key, value, [], None, len(key), len(value), -1)


def ignore(conn: Connection, events: list[Envelope]) -> None:
    """The handler: only the runner's own statements are of interest."""


def test_every_batchs_applied_id_look_up_is_planned_for_its_own_ids(engine: Engine) -> None:
    runner = ConsumerRunner(
        engine,
        "a-group",
        [TOPIC],
        lambda conn, event: None,
        lambda: None,  # type: ignore[arg-type,return-value]  # records are applied directly
        lambda: None,  # type: ignore[arg-type,return-value]
        "dead-letters",
        handle_batch=ignore,
    )
    for n in range(BATCHES):
        runner.apply([a_record(n * PER_BATCH + i) for i in range(PER_BATCH)])

    with engine.connect() as conn:  # the session that ran the batches
        plans = conn.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%FROM applied_events%'"
            )
        ).all()
    assert runner.applied_total == BATCHES * PER_BATCH
    assert plans, "the look-up was never prepared: nothing here shows how it is planned"
    assert sum(generic for generic, _ in plans) == 0
    assert sum(custom for _, custom in plans) >= BATCHES - 5  # psycopg prepares on the 6th
