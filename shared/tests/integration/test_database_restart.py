"""PostgreSQL restarted under a live app: every command caught by the restart is answered 503
problem+json with Retry-After (never a 500), every command acknowledged is stored, and the app
takes commands again once the server is back, without being restarted itself."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response
from sqlalchemy import Connection, Engine, select, text

from waypoint_devkit.fixtures import started
from waypoint_devkit.infrastructure import local_postgres
from waypoint_shared.db.database import connect, migrate, run_in_transaction
from waypoint_shared.db.tables import events
from waypoint_shared.eventstore.store import (
    SHARED_MIGRATIONS,
    Append,
    CommitObserver,
    EventStore,
    NewEvent,
    observe_commits,
)
from waypoint_shared.http.problems import install_problem_handlers

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
TYPE = "waypoint.test.thing_happened.v1"


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this test's own: restarting the session's would break other tests."""
    with started(local_postgres(tmp_path_factory.mktemp("restarted")), "PostgreSQL") as server:
        yield server


def app_on(engine: Engine) -> Flask:
    """A command that appends an event and holds its transaction open a moment, as the services'
    commands do (their problem handlers, their commit observers)."""
    app = Flask("restarted")
    install_problem_handlers(app)
    observe_commits(
        engine,
        CommitObserver(lambda event: event.type, lambda event: event.type, lambda _notes: None),
    )
    store = EventStore()

    @app.post("/v1/things/<stream>")
    def command(stream: str) -> Response:
        def work(conn: Connection) -> None:
            new = [NewEvent(TYPE, 1, {})]
            store.append(conn, [Append("clinic-a", stream, stream, 0, new, {})])
            conn.execute(text("SELECT pg_sleep(0.2)"))

        run_in_transaction(engine, work)
        return Response(status=201)

    return app


def test_a_restart_answers_503_problem_json_and_loses_no_acknowledged_command(
    own_postgres: Any,
) -> None:
    engine = connect(own_postgres.create_database("restarted"))
    migrate(engine, SHARED_MIGRATIONS)
    app = app_on(engine)
    answers: list[tuple[str, int, str, str | None]] = []
    stop = threading.Event()

    def send() -> None:
        client = app.test_client()
        while not stop.is_set():
            stream = str(uuid.uuid4())
            response = client.post(f"/v1/things/{stream}")
            answers.append(
                (
                    stream,
                    response.status_code,
                    response.content_type or "",
                    response.headers.get("Retry-After"),
                )
            )

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(1.5)
        own_postgres.stop()  # fast shutdown: the sessions in a transaction are ended
        time.sleep(1.0)
        own_postgres.start()
        restarted = len(answers)
        time.sleep(2.0)
    finally:
        stop.set()
        for sender in senders:
            sender.join()

    statuses = {status for _, status, _, _ in answers}
    assert statuses <= {201, 503}, sorted(statuses)
    unavailable = [a for a in answers if a[1] == 503]
    assert unavailable, "no command was caught by the restart"
    assert all(
        kind == "application/problem+json" and retry == "1" for _, _, kind, retry in unavailable
    )
    assert any(status == 201 for _, status, _, _ in answers[restarted:]), "no command after it"
    acknowledged = {stream for stream, status, _, _ in answers if status == 201}
    with engine.connect() as conn:
        stored = set(conn.execute(select(events.c.stream_id)).scalars())
    assert acknowledged <= stored
    engine.dispose()
