"""The shape of progress's reads of one client's journey: a GET under the client, its query,
its answer, a 404 where progress has seen no event of the client, scope `progress:read`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask_smorest import Blueprint
from marshmallow import Schema

from waypoint_shared.http.auth import requires

F = TypeVar("F", bound=Callable[..., Any])
UNKNOWN_CLIENT = "Progress has seen no event of this client"


def client_read(
    blp: Blueprint, part: str, query: type[Schema] | None, answer: type[Schema] | None, **doc: Any
) -> Callable[[F], F]:
    """Route a read of `/clients/{client_id}/<part>`; `doc` goes to the 200 response."""

    def decorate(view: F) -> F:
        documented = blp.alt_response(404, description=UNKNOWN_CLIENT)(
            requires("progress:read")(view)
        )
        answered = blp.response(200, answer, **doc)(documented)
        if query is not None:
            answered = blp.arguments(query, location="query")(answered)
        return cast(F, blp.route(f"/clients/<uuid:client_id>/{part}", methods=["GET"])(answered))

    return decorate
