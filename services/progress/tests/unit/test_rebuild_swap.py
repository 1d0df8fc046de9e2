"""The rebuild's swap: refused while the live consumer has applied more than the rebuild read."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, inspect

from waypoint_progress.adapters import swap
from waypoint_progress.adapters.tables import projection_tables
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.db.tables import consumer_offsets

TOPIC = "waypoint.intake.events"


def test_the_swap_waits_for_the_rebuild_to_read_as_far_as_the_worker_applied(
    tmp_path: Path,
) -> None:
    container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": str(tmp_path)}))
    engine, fresh, group = container.engine, projection_tables("_next"), "waypoint-progress"
    row = {"consumer_group": group, "topic": TOPIC, "partition": 0, "next_offset": 5}
    run_in_transaction(engine, lambda c: c.execute(insert(consumer_offsets).values(**row)))
    run_in_transaction(engine, lambda c: swap.create_fresh(c, fresh))

    behind = run_in_transaction(engine, lambda c: swap.swap_in(c, fresh, group, {(TOPIC, 0): 3}))
    assert behind == {(TOPIC, 0): 5}
    assert "timelines_next" in inspect(engine).get_table_names()

    caught_up = run_in_transaction(engine, lambda c: swap.swap_in(c, fresh, group, {(TOPIC, 0): 5}))
    assert caught_up == {}
    names = inspect(engine).get_table_names()
    assert "timelines_next" not in names
    assert {"timelines", "source_events"} <= set(names)
    indexes = {i["name"] for i in inspect(engine).get_indexes("source_events")}
    assert indexes == {"ix_source_events_client"}
    engine.dispose()
