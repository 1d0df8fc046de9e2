"""A database that is restarting or unreachable answers 503 problem+json with Retry-After (the
pool reconnects by itself, the client retries); any other database error stays a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.exc import DBAPIError, OperationalError

from waypoint_shared.db.database import is_unavailable
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
