"""What bounds the projector: the CPU of its batch path per event, whole and with its parts left
out, and how that cost grows with a client's history. A profile, not a target: the README's
Performance section cites it for what bounds `projector_ratio`.

The batch path is what the projector runs for each poll (`ConsumerRunner.apply`: decode, one
transaction, the applied ids, the facts, the timelines, the publications, the commit), fed
records encoded as the relay writes them, without Kafka, so the figures are the projector's own
(the raw consumer's read and `json.loads` of a record cost 13-16 µs in `projector_throughput`).

- `cpu_us_per_referral`: batches of 1,000 referrals of new clients, as `projector_throughput`
  sends; `..._without_timelines`, `..._without_publishing` and `..._without_both` leave out
  storing the derived timelines, publishing what they owe, or both (an ablation: what the rest
  costs, and so what a design without that part could reach at best).
- `floor_us_per_referral`: the same rows the whole path wrote for those referrals (applied ids,
  facts, timeline entries, derived events, offsets), read back as the store keeps them and
  written again into a fresh database of the same schema by the driver alone (`executemany` of
  tuples per table, one transaction per batch, the same durability): no decoding, deriving,
  checking or SQLAlchemy. Wall time and this process's CPU (`floor_cpu_us_per_referral`; on
  PostgreSQL the server's work is only in the wall time). What any projector writing these rows
  per event costs at least, in this schema, on this machine; `rows_per_referral` counts them.
- `cpu_us_per_event_by_round`: 500 clients' ten-event journeys (the rebuild benchmark's), one
  event of every client per batch, as established clients' events arrive live; the n-th figure
  is the cost of a client's n-th event. `history_growth` is the tenth ÷ the first.

Runs on each store BENCH_STORE names; each part is measured in a database of its own. The CPU
is this process's: on PostgreSQL the server's share of each statement is not counted.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import by_store, databases, save, stores
from kafka.consumer.fetcher import ConsumerRecord
from projector_throughput import referral
from rebuild_throughput import journey_events
from sqlalchemy import Engine

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.tables import LIVE
from waypoint_progress.bootstrap import bootstrap
from waypoint_progress.service_layer import projector
from waypoint_shared.config import BATCH_RECORDS, load_settings
from waypoint_shared.db.tables import applied_events, consumer_offsets, events
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.consumer import ConsumerRunner
from waypoint_shared.messaging.envelope import encode

REFERRALS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
CLIENTS = 500  # clients whose journeys are applied a round at a time
PARTS = {
    "": (),
    "_without_timelines": ("timelines",),
    "_without_publishing": ("publishing",),
    "_without_both": ("timelines", "publishing"),
}


def record(event: RecordedEvent, service: str, offset: int) -> ConsumerRecord:
    key, value, headers = encode(event, service)
    topic = f"bench.waypoint.{service}.events"
    return ConsumerRecord(
        topic, 0, 0, offset, 0, 0, key, value, headers, None, len(key), len(value), -1
    )


def referral_batches() -> list[list[ConsumerRecord]]:
    records = [record(referral(str(uuid.uuid4())), "intake", i) for i in range(REFERRALS)]
    return [records[i : i + BATCH_RECORDS] for i in range(0, REFERRALS, BATCH_RECORDS)]


def journey_rounds() -> list[list[ConsumerRecord]]:
    """Round n holds the n-th event of every client's journey."""
    journeys = [journey_events(str(uuid.uuid4())) for _ in range(CLIENTS)]
    rounds, offset = [], 0
    for n in range(len(journeys[0])):
        rounds.append([record(j[n][1], j[n][0], offset + i) for i, j in enumerate(journeys)])
        offset += len(journeys)
    return rounds


@contextmanager
def left_out(parts: tuple[str, ...]) -> Iterator[None]:
    """The projector with the named parts of its batch doing nothing."""
    saved = projection.replace_timelines, projector.publish_owed
    if "timelines" in parts:
        projection.replace_timelines = lambda *args, **kwargs: None  # type: ignore[assignment]
    if "publishing" in parts:
        projector.publish_owed = lambda *args, **kwargs: []  # type: ignore[assignment]
    try:
        yield
    finally:
        projection.replace_timelines, projector.publish_owed = saved  # type: ignore[assignment]


def runner_on(database_url: str, work_dir: Path) -> ConsumerRunner:
    environment = {
        "WAYPOINT_VAR_DIR": str(work_dir),
        "PROGRESS_DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # never reached: records are applied directly
        "WAYPOINT_TOPIC_PREFIX": "bench.",
    }
    progress = bootstrap(load_settings("progress", environment))
    return ConsumerRunner(
        progress.engine,
        progress.settings.consumer_group,
        [],
        progress.projector.handle,
        lambda: None,  # type: ignore[arg-type,return-value]  # no consumer is made
        lambda: None,  # type: ignore[arg-type,return-value]  # nor a producer
        progress.settings.dead_letter_topic,
        handle_batch=progress.projector.handle_all,
        known_client=progress.projector.knows,
    )


def cpu_per_event(runner: ConsumerRunner, batch: list[ConsumerRecord]) -> float:
    return cost_per_event(runner, batch)[1]


def cost_per_event(runner: ConsumerRunner, batch: list[ConsumerRecord]) -> tuple[float, float]:
    """(wall, CPU) µs an event of applying the batch."""
    started, started_cpu = time.perf_counter(), time.process_time()
    runner.apply(batch)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return 1e6 * wall / len(batch), 1e6 * cpu / len(batch)


WRITTEN = (applied_events, LIVE.source_events, LIVE.timelines, events)
Rows = dict[str, tuple[list[str], list[tuple[object, ...]]]]


def written(engine: Engine) -> Rows:
    """Every row of the tables the projector writes, each value as the store keeps it (text on
    PostgreSQL, which the server reads back into the column's type); events in their order."""
    rows: Rows = {}
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table in WRITTEN:
            columns = [c.name for c in table.columns if c.name != "position"]
            as_kept = [c if engine.dialect.name == "sqlite" else f"{c}::text" for c in columns]
            ordered = " ORDER BY position" if table is events else ""
            cursor.execute(f"SELECT {', '.join(as_kept)} FROM {table.name}{ordered}")
            rows[table.name] = (columns, [tuple(row) for row in cursor.fetchall()])
    finally:
        connection.close()
    return rows


def floor(engine: Engine, rows: Rows, batches: int) -> tuple[float, float]:
    """Write `rows` again into `engine`'s empty tables in `batches` transactions (the first a
    warm-up), a statement per table and the offset's upsert in each; (wall, CPU) µs a referral
    over the rest."""
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    upsert = (
        f"INSERT INTO {consumer_offsets.name} (consumer_group, topic, partition, next_offset) "
        f"VALUES ({marker}, {marker}, {marker}, {marker}) ON CONFLICT "
        "(consumer_group, topic, partition) DO UPDATE SET next_offset = excluded.next_offset"
    )
    statements = [
        (f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join([marker] * len(cols))})", all_)
        for name, (cols, all_) in rows.items()
    ]
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        wall = cpu = 0.0
        for n in range(batches):
            started, started_cpu = time.perf_counter(), time.process_time()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            for sql, all_ in statements:
                share = len(all_) // batches
                cursor.executemany(sql, all_[n * share : (n + 1) * share])
            cursor.execute(upsert, ("floor", "intake", 0, n))
            connection.commit()
            if n:
                wall += time.perf_counter() - started
                cpu += time.process_time() - started_cpu
    finally:
        connection.close()
    referrals = REFERRALS * (batches - 1) / batches
    return 1e6 * wall / referrals, 1e6 * cpu / referrals


def measure(store: str, work_dir: Path) -> dict[str, object]:
    figures: dict[str, object] = {}
    with databases(store, work_dir) as database:
        for suffix, parts in PARTS.items():
            runner = runner_on(database(f"referrals{suffix}"), work_dir)
            warm_up, *batches = referral_batches()
            runner.apply(warm_up)
            with left_out(parts):
                costs = [cost_per_event(runner, batch) for batch in batches]
            figures[f"cpu_us_per_referral{suffix}"] = sum(c for _, c in costs) / len(costs)
            if not parts:
                figures["wall_us_per_referral"] = sum(w for w, _ in costs) / len(costs)
                rows = written(runner.engine)
        fresh = runner_on(database("floor"), work_dir).engine
        wall, cpu = floor(fresh, rows, len(batches) + 1)
        figures["floor_us_per_referral"], figures["floor_cpu_us_per_referral"] = wall, cpu
        figures["rows_per_referral"] = {name: len(r) / REFERRALS for name, (_, r) in rows.items()}
        runner = runner_on(database("journeys"), work_dir)
        by_round = [cpu_per_event(runner, batch) for batch in journey_rounds()]
    figures["cpu_us_per_event_by_round"] = [round(cost, 1) for cost in by_round]
    figures["history_growth"] = by_round[-1] / by_round[0]
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = {store: measure(store, Path(tmp) / store) for store in stores()}
    save(
        "projector_parts",
        {
            "referrals": REFERRALS,
            "clients_with_journeys": CLIENTS,
            **by_store(figures, "cpu_us_per_referral", lower_is_better=True),
            "settings": f"ConsumerRunner.apply without Kafka, CPU time of the process; "
            f"referrals in batches of {BATCH_RECORDS} after one batch of warm-up",
        },
    )


if __name__ == "__main__":
    main()
