"""Each service's CapabilityStatement (`GET /fhir/metadata`, public) lists exactly the FHIR routes
the service answers: every read and search it routes, nothing more, and for each search exactly the
search parameters its OpenAPI document declares."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from flask import Flask

SERVICES = ("intake", "goals", "progress")
RESULT_PARAMETERS = {"_count", "_offset", "_format"}  # how to answer, not what to match


@pytest.fixture(params=SERVICES)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
        made = importlib.import_module(f"waypoint_{request.param}.entrypoints.app").create_app()
    yield made
    made.extensions["waypoint"].engine.dispose()


def routed(app: Flask) -> set[tuple[str, str]]:
    """(resource type, interaction) of every FHIR route: a read takes an id, a search none."""
    found = set()
    for rule in app.url_map.iter_rules():
        parts = rule.rule.split("/")
        if parts[1] != "fhir" or rule.rule == "/fhir/metadata":
            continue
        assert "GET" in (rule.methods or ()), rule.rule
        found.add((parts[2], "read" if rule.arguments else "search-type"))
    return found


def statement_of(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/fhir/metadata")  # no token
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    body: dict[str, Any] = response.get_json()
    CapabilityStatement.model_validate(body)
    return body


def test_the_capability_statement_is_public_and_describes_an_r4_json_server(app: Flask) -> None:
    statement = statement_of(app)

    assert (statement["status"], statement["kind"]) == ("active", "instance")
    assert (statement["fhirVersion"], statement["format"]) == ("4.0.1", ["json"])
    assert [rest["mode"] for rest in statement["rest"]] == ["server"]
    assert statement["implementation"]["url"].endswith("/fhir")


def test_the_capability_statement_lists_every_fhir_route_and_nothing_more(app: Flask) -> None:
    [rest] = statement_of(app)["rest"]

    listed = {(r["type"], i["code"]) for r in rest["resource"] for i in r["interaction"]}

    assert listed == routed(app)


def test_each_search_lists_exactly_the_parameters_its_openapi_document_declares(
    app: Flask,
) -> None:
    [rest] = statement_of(app)["rest"]
    paths = app.test_client().get("/openapi.json").get_json()["paths"]

    for resource in rest["resource"]:
        listed = {p["name"] for p in resource.get("searchParam", [])}
        search = paths.get(f"/fhir/{resource['type']}", {}).get("get", {})
        documented = {p["name"] for p in search.get("parameters", []) if p["in"] == "query"}
        assert listed == documented - RESULT_PARAMETERS, resource["type"]
        assert documented >= RESULT_PARAMETERS or not documented, resource["type"]
