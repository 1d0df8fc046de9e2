"""The fuzzing harness itself: an API that breaks each promise is caught, so a green fuzz run
means something."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask, Response, jsonify
from schemathesis import GenerationMode

from .test_openapi_fuzz import fuzz

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "broken on purpose", "version": "1"},
    "paths": {
        path: {"get": {"responses": {"200": {"description": "ok", "content": content}}}}
        for path, content in {
            "/crash": {},
            "/wrong-shape": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["count"],
                        "properties": {"count": {"type": "integer"}},
                    }
                }
            },
            "/html-error": {},
            "/undocumented-status": {"application/json": {"schema": {"type": "object"}}},
            "/undocumented-media": {"application/json": {"schema": {"type": "object"}}},
            "/fine": {"application/json": {"schema": {"type": "object"}}},
        }.items()
    },
}


def broken_app() -> Flask:
    app = Flask("broken")
    app.add_url_rule("/openapi.json", "doc", lambda: jsonify(DOCUMENT))
    app.add_url_rule("/crash", "crash", lambda: Response("boom", 500))
    app.add_url_rule("/wrong-shape", "shape", lambda: jsonify({"count": "many"}))
    app.add_url_rule(
        "/html-error", "html", lambda: Response("<h1>no</h1>", 404, mimetype="text/html")
    )
    app.add_url_rule("/undocumented-status", "status", lambda: (jsonify({}), 202))
    app.add_url_rule(
        "/undocumented-media", "media", lambda: Response("{}", 200, mimetype="text/plain")
    )
    app.add_url_rule("/fine", "fine", lambda: jsonify({}))
    return app


@pytest.fixture(scope="module")
def operations() -> dict[str, Any]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", broken_app())
    return {op.path: op for op in (result.ok() for result in schema.get_all_operations())}


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        ("/crash", "Server error"),
        ("/wrong-shape", "Response violates schema"),
        ("/html-error", "answered 'text/html'"),
        ("/undocumented-status", "ST103 Undocumented status"),
        ("/undocumented-media", "Undocumented Content-Type"),
    ],
)
def test_a_broken_promise_is_reported_with_the_operation(
    operations: dict[str, Any], path: str, complaint: str
) -> None:
    failure = fuzz(operations[path], GenerationMode.POSITIVE, {})

    assert failure is not None and failure.startswith(f"GET {path}")
    assert complaint in failure


def test_an_operation_that_keeps_its_promises_is_not_reported(operations: dict[str, Any]) -> None:
    assert fuzz(operations["/fine"], GenerationMode.POSITIVE, {}) is None
