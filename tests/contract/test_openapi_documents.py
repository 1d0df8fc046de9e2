"""Each service's OpenAPI document is a valid OpenAPI 3.1 document (checked by
openapi-spec-validator), and it states the wire: every error of every operation is problem+json
with the one problem schema (a FHIR OperationOutcome under /fhir), and every operation declares
the errors the shared edge may answer for it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

SERVICES = ("intake", "goals", "progress")
METHODS = ("get", "post", "put", "patch", "delete")


def document_of(service: str, var_dir: Path) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAYPOINT_VAR_DIR", str(var_dir))
        env.setenv("WAYPOINT_ENV", "development")
        app = importlib.import_module(f"waypoint_{service}.entrypoints.app").create_app()
    spec: dict[str, Any] = app.test_client().get("/openapi.json").get_json()
    return spec


@pytest.fixture(scope="module", params=SERVICES)
def document(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return document_of(request.param, tmp_path_factory.mktemp(request.param))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_validator_refuses_a_broken_document(document: dict[str, Any]) -> None:
    path, method, _ = next(operations(document))
    broken = {**document, "paths": {path: {method: {"responses": {"200": {}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)  # a response without its required description


def test_every_error_of_every_operation_is_problem_json(document: dict[str, Any]) -> None:
    wrong = []
    for path, method, operation in operations(document):
        fhir = path.startswith("/fhir")
        media, schema = (
            ("application/fhir+json", "OperationOutcome")
            if fhir
            else ("application/problem+json", "Problem")
        )
        for code, response in operation["responses"].items():
            if code != "default" and int(code) < 400:
                continue
            expected = {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
            if response.get("content") != expected:
                wrong.append(f"{method.upper()} {path} {code}: {response.get('content')}")
    assert wrong == []


def test_every_operation_declares_the_errors_the_shared_edge_answers(
    document: dict[str, Any],
) -> None:
    missing = []
    for path, method, operation in operations(document):
        expected = {"400", "401", "403", "429", "default"}
        if method in ("post", "put", "patch", "delete"):
            expected |= {"409", "412", "413", "415", "422"}
        if "{" in path:
            expected |= {"404", "410"}
        lacking = expected - set(operation["responses"])
        if lacking:
            missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
    assert missing == []


def test_every_success_states_its_media_type(document: dict[str, Any]) -> None:
    bare = [
        f"{method.upper()} {path} {code}"
        for path, method, operation in operations(document)
        for code, response in operation["responses"].items()
        if code.startswith("2") and code != "204" and not response.get("content")
    ]
    assert bare == []


def test_a_problem_may_carry_members_that_name_what_was_wrong(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert problem.get("additionalProperties", True) is not False
    assert {"title", "status"} <= set(problem["required"])


def test_every_write_declares_the_headers_it_honours(document: dict[str, Any]) -> None:
    lacking = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(document)
        if method in ("post", "put", "patch", "delete")
        and not {"Idempotency-Key", "If-Match"}
        <= {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}
    ]
    assert lacking == []


def test_every_operation_has_a_name_of_its_own(document: dict[str, Any]) -> None:
    names = [operation.get("operationId") for _, _, operation in operations(document)]
    assert None not in names
    assert len(names) == len(set(names))


def test_the_only_error_schemas_are_those_the_wire_answers(document: dict[str, Any]) -> None:
    assert "Error" not in document["components"]["schemas"]  # flask-smorest's, never answered
