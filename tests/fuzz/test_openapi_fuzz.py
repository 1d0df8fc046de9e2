"""Schemathesis against each service's OpenAPI document, with a token holding every scope, and
its four standard conformance checks: no server error, and no status, media type or body that
the document does not declare; plus every error as problem+json (a FHIR OperationOutcome under
/fhir). Bounded and derandomized, so a failure reproduces. In process, with seeded resources and
stale `If-Match` versions so requests reach the rules; every other check of Schemathesis runs
from its command line against the running suite (test_schemathesis_cli.py)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, mint_token

from . import seeds

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation and mode; `make faults`: 150
# a guard against a hang, not a speed check: on a slow 2-core host intake's run took 132 s at 10
# examples and 243 s at 30, ~80 s of it whatever the number
pytestmark = [pytest.mark.timeout(180 + 10 * EXAMPLES)]
TENANT = "clinic-fuzz"
TOKEN = mint_token(DEVELOPMENT_SECRET, "fuzzer", TENANT, ALL_SCOPES)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
PROBLEM_JSON, FHIR_JSON = "application/problem+json", "application/fhir+json"


def errors_are_problem_details(ctx: Any, response: Any, case: Any) -> None:
    """An error is problem+json, or a FHIR OperationOutcome under /fhir."""
    if response.status_code < 400:
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if case.path.startswith("/fhir"):
        assert media == FHIR_JSON, f"{response.status_code} under /fhir answered {media!r}"
        assert response.json().get("resourceType") == "OperationOutcome"
    else:
        assert media == PROBLEM_JSON, f"{response.status_code} answered {media!r}"
        body = response.json()
        assert body.get("status") == response.status_code and body.get("title")
    return None


def checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        errors_are_problem_details,
    ]


def app_of(service: str, var_dir: Path) -> Flask:
    """The service's Flask app on SQLite in var_dir."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAYPOINT_VAR_DIR", str(var_dir))
        env.setenv("WAYPOINT_RATE_LIMIT", "100000")  # far above the fuzzer's pace, one token
        return importlib.import_module(f"waypoint_{service}.entrypoints.app").create_app()


def seeded(service: str, app: Flask) -> dict[str, str]:
    if service == "goals":
        return seeds.goals(app, HEADERS, TENANT)
    return (
        seeds.intake(app, HEADERS) if service == "intake" else seeds.progress(app, HEADERS, TENANT)
    )


def variants(service: str, app: Flask, operation: Any) -> Iterator[tuple[dict[str, str], bool]]:
    """(path ids, stale If-Match?): random ids; for an operation that takes ids, those of freshly
    seeded resources; and for a write to one, an If-Match naming a version it never had."""
    yield {}, False
    if len(operation.path_parameters):
        yield seeded(service, app), False
        if operation.method.upper() in ("POST", "PUT", "PATCH"):
            yield seeded(service, app), True


def fuzz(
    operation: Any, mode: GenerationMode, known: dict[str, str], stale: bool = False
) -> str | None:
    """Up to EXAMPLES requests to one operation; the shrunk failure, if any."""
    names = {parameter.name for parameter in operation.path_parameters}
    fixed = {name: value for name, value in known.items() if name in names} or None
    headers = {**HEADERS, "If-Match": '"9999"'} if stale else HEADERS

    @given(case=operation.as_strategy(mode, path_parameters=fixed))
    @settings(
        max_examples=min(EXAMPLES, 5) if stale else EXAMPLES,  # a stale version is a stale version
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks())

    try:
        run()
    # Schemathesis raises a FailureGroup (a BaseExceptionGroup) for several distinct failures.
    except (AssertionError, BaseExceptionGroup) as failure:  # every failing operation is reported
        ids = ("known ids" if fixed else "random ids") + (", stale If-Match" if stale else "")
        return f"{operation.label} [{mode.value}, {ids}]: {failure}{causes(failure)}"
    return None


def causes(failure: BaseException) -> str:
    """The failures inside a group: a failure Hypothesis could not reproduce (flaky) names
    only itself, and what went wrong on its first call is in the group."""
    inner = getattr(failure, "exceptions", ())
    return "".join(f"\n  caused by: {type(e).__name__}: {e}{causes(e)}" for e in inner)


@pytest.mark.parametrize("service", ["intake", "goals", "progress"])
def test_every_operation_answers_any_request_without_a_server_error_and_as_documented(
    service: str, tmp_path: Path
) -> None:
    app = app_of(service, tmp_path)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = [
        failed
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for known, stale in variants(service, app, operation)
        if (failed := fuzz(operation, mode, known, stale))
    ]
    failing = {failure.split(" [")[0] for failure in failures}
    print(f"{service}: {len(operations)} operations fuzzed, {len(failing)} of them failing")
    assert not failures, "\n\n".join(failures)
