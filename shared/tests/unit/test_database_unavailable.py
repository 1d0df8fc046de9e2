"""A database that is restarting or unreachable answers 503 problem+json with Retry-After (the
pool reconnects by itself, the client retries); any other database error stays a 500."""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask
from psycopg import errors
from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, PendingRollbackError

from waypoint_shared.db.database import is_unavailable, run_in_transaction
from waypoint_shared.eventstore.store import CommitObserver, observe_commits
from waypoint_shared.http.problems import install_problem_handlers


def app_raising(error: Exception) -> Flask:
    app = Flask("database-errors")
    install_problem_handlers(app)

    @app.post("/v1/things")
    def command() -> str:
        raise error

    return app


@pytest.mark.parametrize(
    "message",
    [
        "server closed the connection unexpectedly",
        "terminating connection due to administrator command",
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        "Connection refused",
        "the database system is shutting down",
        "the database system is starting up",
    ],
)
def test_a_lost_or_refused_connection_answers_503_problem_json(message: str) -> None:
    error = OperationalError("INSERT INTO events …", {}, Exception(message))
    assert is_unavailable(error)
    response = app_raising(error).test_client().post("/v1/things")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["status"] == 503


def test_an_invalidated_connection_is_unavailable_whatever_its_message() -> None:
    error = DBAPIError("SELECT 1", {}, Exception("no message we know"), connection_invalidated=True)
    assert is_unavailable(error)


def test_any_other_database_error_stays_a_500() -> None:
    error = DBAPIError("INSERT INTO events …", {}, Exception("value too long for type"))
    assert not is_unavailable(error)
    response = app_raising(error).test_client().post("/v1/things")
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "driver_error",
    [
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("terminating connection because of crash of another server process"),
        errors.CannotConnectNow("the database system is not yet accepting connections"),
        errors.TooManyConnections("sorry, too many clients already"),
        errors.ConnectionFailure("connection failure"),
        psycopg.OperationalError("sending query failed: another message we do not know"),
        psycopg.OperationalError("the connection is lost"),
    ],
)
def test_psycopg_errors_of_an_unreachable_server_answer_503(driver_error: Exception) -> None:
    """By SQLSTATE (class 08, shutdown, cannot connect now, too many connections), or the
    client's own error without one (the connection lost, refused or timed out)."""
    error = OperationalError("INSERT INTO events …", {}, driver_error)
    assert is_unavailable(error)
    assert app_raising(error).test_client().post("/v1/things").status_code == 503


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT …", {}, errors.UniqueViolation("duplicate key value")),
        DBAPIError("INSERT …", {}, errors.StringDataRightTruncation("value too long")),
        OperationalError("SELECT …", {}, errors.QueryCanceled("canceling statement")),
        OperationalError("SELECT …", {}, Exception("no such table: events")),  # SQLite's
    ],
)
def test_psycopg_errors_of_the_request_stay_unexpected(error: DBAPIError) -> None:
    assert not is_unavailable(error)


def test_a_transaction_whose_connection_was_invalidated_answers_503() -> None:
    """Using a connection broken earlier in its transaction (SQLAlchemy refuses to reconnect it
    until rolled back) is the same outage, not a bug of the request."""
    error = PendingRollbackError("Can't reconnect until invalid transaction is rolled back.")
    assert is_unavailable(error)
    assert app_raising(error).test_client().post("/v1/things").status_code == 503


def test_a_connection_lost_in_a_transaction_raises_the_drivers_error() -> None:
    """The commit observers' rollback hook must not hide the lost connection behind an error of
    its own (a 500 instead of the 503 the driver's error is answered with)."""
    engine = create_engine("sqlite://")
    observe_commits(
        engine,
        CommitObserver(lambda event: event.type, lambda event: event.type, lambda _notes: None),
    )
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    def work(conn: Connection) -> None:
        conn.invalidate()
        raise lost

    with pytest.raises(OperationalError) as raised:
        run_in_transaction(engine, work)
    assert raised.value is lost
