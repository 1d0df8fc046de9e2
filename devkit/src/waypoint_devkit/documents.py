"""A service's OpenAPI document against its own validation, in a test: a body the document
allows is one the service's schema accepts, and one it refuses, the schema refuses too."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # dev group
from marshmallow import Schema, ValidationError


def component_validator(client: FlaskClient, component: str) -> Draft202012Validator:
    """A JSON Schema validator of one component of the document the app serves."""
    components = client.get("/openapi.json").get_json()["components"]
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{component}", "components": components}
    )


def accepted(schema: Schema, body: dict[str, Any]) -> bool:
    """Whether the service's own schema loads the body."""
    try:
        schema.load(body)
    except ValidationError:
        return False
    return True


def agree(client: FlaskClient, component: str, schema: Schema, body: dict[str, Any]) -> bool:
    """Whether the document and the schema agree on the body; returns the document's verdict."""
    valid = component_validator(client, component).is_valid(body)
    assert accepted(schema, body) is valid, f"{component}: the document says {valid} for {body}"
    return valid


def cases(table: list[tuple[Any, ...]]) -> list[Any]:
    """pytest parameters of a table of (name, *values) rows, each row named."""
    return [pytest.param(*row[1:], id=row[0]) for row in table]
