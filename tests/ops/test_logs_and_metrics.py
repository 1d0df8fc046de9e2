"""Structured logs and metrics inside one process: JSON lines with the trace of the work, HTTP
answers counted by URL rule, events counted once their transaction commits."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import Column, MetaData, Table, insert, select

from waypoint_devkit.apps import app_in
from waypoint_intake.entrypoints.app import create_app
from waypoint_progress.adapters.metrics import count_milestones
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.db.database import connect, migrate, run_in_transaction
from waypoint_shared.db.tables import events
from waypoint_shared.eventstore.store import (
    ROW_COLUMNS,
    SHARED_MIGRATIONS,
    Append,
    EventStore,
    NewEvent,
    observe_commits,
)
from waypoint_shared.http.auth import ALL_SCOPES, mint_token
from waypoint_shared.observability.logs import configure_logging, log_context
from waypoint_shared.runtime import EVENTS_COMMITTED

REFERRAL = {
    "given_name": "Orlaith",
    "family_name": "Brennan-Achterberg",
    "date_of_birth": "1979-11-23",
    "email": "orlaith@example.org",
}
BEARER = {
    "Authorization": f"Bearer {mint_token(DEVELOPMENT_SECRET, 'ehr', 'clinic-a', ALL_SCOPES)}"
}


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """The root logger writing JSON lines to the captured stdout, as in the real processes."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("intake", "web")

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    yield lines
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    yield from app_in(create_app, tmp_path, monkeypatch)


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_log_line_is_one_json_object_carrying_the_trace_of_its_work(json_logs):
    with log_context(correlation_id="req-1", tenant="clinic-a", client_id="c-1"):
        logging.getLogger("waypoint.test").info("event applied", extra={"offset": 7})
    [line] = json_logs()
    assert line["service"] == "intake" and line["process"] == "web"
    assert (line["level"], line["message"], line["offset"]) == ("info", "event applied", 7)
    assert (line["correlation_id"], line["tenant"], line["client_id"]) == (
        "req-1",
        "clinic-a",
        "c-1",
    )
    assert line["request_id"] is None


def test_a_write_logs_its_event_with_request_id_tenant_and_client_but_no_personal_value(
    app, json_logs
):
    answer = app.test_client().post(
        "/v1/clients", json=REFERRAL, headers={**BEARER, "X-Request-ID": "trace-42"}
    )
    assert answer.headers["X-Correlation-ID"] == "trace-42"
    request_id = answer.headers["X-Request-ID"]
    assert str(uuid.UUID(request_id)) == request_id  # the service's own id, not the caller's
    [appended] = [line for line in json_logs() if line["message"] == "event appended"]
    assert (appended["request_id"], appended["correlation_id"]) == (request_id, "trace-42")
    assert (appended["tenant"], appended["client_id"]) == ("clinic-a", answer.json["client_id"])
    assert appended["event_type"] == "waypoint.intake.client_referred.v2"
    assert not [v for v in REFERRAL.values() if v in json.dumps(appended)]


def test_even_a_refused_request_answers_with_its_request_and_correlation_ids(app):
    path = f"/v1/clients/{uuid.uuid4()}"
    answer = app.test_client().get(path, headers={"X-Request-ID": "trace-401"})
    assert (answer.status_code, answer.headers["X-Correlation-ID"]) == (401, "trace-401")
    assert answer.headers["X-Request-ID"] not in ("", "trace-401")


def test_http_answers_are_counted_by_url_rule_and_status_not_by_path(app):
    rule = next(
        r.rule for r in app.url_map.iter_rules() if r.rule.endswith("/clients/<uuid:client_id>")
    )
    labels = {"service": "intake", "method": "GET", "route": rule, "status": "404"}
    before = count("waypoint_http_requests_total", **labels)
    client = app.test_client()
    for _ in range(2):
        assert client.get(f"/v1/clients/{uuid.uuid4()}", headers=BEARER).status_code == 404
    assert count("waypoint_http_requests_total", **labels) == before + 2
    assert count("waypoint_http_request_duration_seconds_count", **labels) == before + 2


def test_an_event_is_counted_when_its_transaction_commits_and_not_when_it_rolls_back(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine, SHARED_MIGRATIONS)
    observe_commits(engine, *EVENTS_COMMITTED, count_milestones)  # as progress's bootstrap does
    milestone = {"rule": "journey_started"}

    def reach(conn, fail: bool = False) -> None:
        client = str(uuid.uuid4())
        new = [NewEvent("waypoint.progress.milestone_reached.v1", 1, milestone)]
        EventStore().append(conn, [Append("clinic-a", client, client, 0, new, {})])
        if fail:
            raise RuntimeError("the rest of the transaction failed")

    appended = {"type": "waypoint.progress.milestone_reached.v1"}
    before = count("waypoint_events_appended_total", **appended)
    rules = count("waypoint_milestones_reached_total", rule="journey_started")
    run_in_transaction(engine, reach)
    with pytest.raises(RuntimeError):
        run_in_transaction(engine, lambda conn: reach(conn, fail=True))
    run_in_transaction(engine, reach)  # the rolled-back one left nothing behind to count later
    assert count("waypoint_events_appended_total", **appended) == before + 2
    assert count("waypoint_milestones_reached_total", rule="journey_started") == rules + 2
    engine.dispose()


def test_events_appended_in_bulk_are_each_counted_and_logged_a_line_per_tenant_and_type(
    tmp_path: Path, json_logs: Any
) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine, SHARED_MIGRATIONS)
    observe_commits(engine, *EVENTS_COMMITTED, count_milestones)  # as progress's bootstrap does
    reached = NewEvent("waypoint.progress.milestone_reached.v1", 1, {"rule": "journey_started"})
    appends = [Append("clinic-a", str(uuid.uuid4()), "c-1", None, [reached], {}) for _ in range(3)]
    kept = Table("kept", MetaData(), *(Column(n, events.c[n].type) for n in ROW_COLUMNS))
    with engine.begin() as conn:
        kept.create(conn)
        conn.execute(insert(kept), EventStore().rows_following(conn, appends, {}))
    json_logs()  # what came before
    before = count("waypoint_milestones_reached_total", rule="journey_started")

    run_in_transaction(engine, lambda conn: EventStore().append_selected(conn, select(kept)))

    assert count("waypoint_milestones_reached_total", rule="journey_started") == before + 3
    logged = [line for line in json_logs() if "appended" in line["message"]]
    assert [(line["message"], line["tenant"], line["count"]) for line in logged] == [
        ("events appended", "clinic-a", 3)
    ]
    assert logged[0]["event_type"] == "waypoint.progress.milestone_reached.v1"
    engine.dispose()
