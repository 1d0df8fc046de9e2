"""The shapes intake's routes share: a read's documentation (query, answer, problems, scope), and a
command on an existing client's record, its documentation (body, answer, problems, scope) and its
run (the person acting, If-Match, one transaction through the idempotent executor)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import Connection

from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.client_schemas import ClientSchema
from waypoint_intake.entrypoints.common import (
    client_command,
    client_written,
    container,
    documents_problems,
)
from waypoint_intake.service_layer.handlers import ClientCommand, Intake
from waypoint_shared.http.auth import requires
from waypoint_shared.http.idempotency import Reply, execute

F = TypeVar("F", bound=Callable[..., Any])
ClientWork = Callable[[Intake, Connection, ClientCommand], Reply]
COMMAND_PROBLEMS = (404, 409, 412, 422)


def client_route(
    blp: Blueprint,
    rule: str,
    body: Schema,
    *,
    method: str = "POST",
    answer: type[Schema] = ClientSchema,
    problems: Iterable[int] = COMMAND_PROBLEMS,
    scope: str = "intake:write",
) -> Callable[[F], F]:
    """Route a command on a client: its body schema, its 200 answer, its problems, its scope."""

    def decorate(view: F) -> F:
        documented = documents_problems(blp, *problems)(requires(scope)(view))
        answered = blp.response(200, answer)(documented)
        return cast(F, blp.route(rule, methods=[method])(blp.arguments(body)(answered)))

    return decorate


def read_route(
    blp: Blueprint,
    rule: str,
    answer: type[Schema],
    problems: Iterable[int],
    query: Schema | type[Schema] | None = None,
) -> Callable[[F], F]:
    """Route a read: its query schema (if any), its 200 answer, its problems, `intake:read`."""

    def decorate(view: F) -> F:
        documented = documents_problems(blp, *problems)(requires("intake:read")(view))
        answered = blp.response(200, answer)(documented)
        if query is not None:
            answered = blp.arguments(query, location="query")(answered)
        return cast(F, blp.route(rule, methods=["GET"])(answered))

    return decorate


def on_client(client_id: Any, acting: dict[str, Any] | None, work: ClientWork) -> Response:
    """Run a command on an existing client: If-Match, audit metadata, one transaction."""
    app, command = container(), client_command(client_id, acting)
    return execute(app.engine, lambda conn: work(app.intake, conn, command))


def change_client(
    client_id: Any,
    acting: dict[str, Any] | None,
    handle: Callable[..., Client],
    *args: Any,
    **kwargs: Any,
) -> Response:
    """Run a command whose handler answers the client as it now is: the reply is that client."""
    return on_client(
        client_id,
        acting,
        lambda intake, conn, cmd: client_written(handle(intake, conn, cmd, *args, **kwargs)),
    )
