"""Every error of every service is RFC 9457 problem+json, and every API route checks its token
and scope before anything else."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.routing import BaseConverter
from werkzeug.test import TestResponse

from waypoint_goals.entrypoints.app import create_app as create_goals_app
from waypoint_intake.entrypoints.app import create_app as create_intake_app
from waypoint_progress.entrypoints.app import create_app as create_progress_app
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, PUBLIC_PATHS, mint_token

FACTORIES = {
    "intake": create_intake_app,
    "goals": create_goals_app,
    "progress": create_progress_app,
}
A_REFERRAL = {"given_name": "Zoë", "family_name": "Okafor", "date_of_birth": "1991-04-02"}
A_PROPOSAL = {
    "title": "Walk to the park twice a week",
    "modality": "cbt",
    "priority": "high",
    "proposed_by": {"role": "client", "id": "c-1"},
}
# Each service's write route, a valid body, and the scope it needs (progress has none yet).
WRITES: dict[str, tuple[str, dict[str, Any], str]] = {
    "intake": ("/v1/clients", A_REFERRAL, "intake:write"),
    "goals": (f"/v1/clients/{uuid.uuid4()}/goals", A_PROPOSAL, "goals:write"),
}
READS = {
    "intake": (f"/v1/clients/{uuid.uuid4()}", "intake:read"),
    "goals": (f"/v1/goals/{uuid.uuid4()}", "goals:read"),
    "progress": (f"/v1/clients/{uuid.uuid4()}/timeline", "progress:read"),
}

# A service's test client, its write route, a valid body, and the scope the route needs.
Writer = tuple[FlaskClient, str, dict[str, Any], str]
# A service's name and its test client.
Service = tuple[str, FlaskClient]


def bearer(tenant: str = "clinic-a", scopes: str = ALL_SCOPES, ttl: int = 600) -> dict[str, Any]:
    token = mint_token(DEVELOPMENT_SECRET, "clinic-platform", tenant, scopes, ttl)
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "<html" not in text.lower()
    return body


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Flask]]:
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    for name in ("WAYPOINT_JWT_SECRET", "WAYPOINT_JWT_PUBLIC_KEY", "WAYPOINT_MAX_BODY_BYTES"):
        monkeypatch.delenv(name, raising=False)
    built = {name: factory() for name, factory in FACTORIES.items()}
    yield built
    for app in built.values():
        app.extensions["waypoint"].engine.dispose()


@pytest.fixture(params=list(WRITES))
def writer(request: pytest.FixtureRequest, apps: dict[str, Flask]) -> Writer:
    path, body, scope = WRITES[request.param]
    return apps[request.param].test_client(), path, body, scope


@pytest.fixture(params=list(FACTORIES))
def service(request: pytest.FixtureRequest, apps: dict[str, Flask]) -> Service:
    return request.param, apps[request.param].test_client()


def test_malformed_json_is_a_400_problem(writer: Writer) -> None:
    client, path, _, _ = writer

    response = client.post(
        path, data=b'{"given_name": ', headers=bearer(), content_type="application/json"
    )

    assert_problem(response, 400)


def test_a_body_that_is_not_json_is_a_415_problem(writer: Writer) -> None:
    client, path, _, _ = writer

    response = client.post(path, data="given_name=Zoë", headers=bearer(), content_type="text/plain")

    assert_problem(response, 415)


def test_a_body_over_64_kib_is_a_413_problem(writer: Writer) -> None:
    client, path, body, _ = writer

    oversize = {**body, next(iter(body)): "x" * 70_000}
    response = client.post(path, json=oversize, headers=bearer())

    assert_problem(response, 413)


def test_an_unknown_field_and_a_missing_required_field_are_a_422_problem_naming_them(
    writer: Writer,
) -> None:
    client, path, body, _ = writer
    required = next(iter(body))
    invalid = {**{k: v for k, v in body.items() if k != required}, "favourite_colour": "teal"}

    response = client.post(path, json=invalid, headers=bearer())

    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {required, "favourite_colour"}


def test_an_unknown_route_is_a_404_problem(service: Service) -> None:
    _, client = service

    assert_problem(client.get("/v1/no-such-thing", headers=bearer()), 404)
    assert_problem(client.get("/definitely/not/here"), 404)


def test_a_wrong_method_is_a_405_problem_that_says_what_is_allowed(service: Service) -> None:
    name, client = service
    path, _ = READS[name]

    response = client.delete(path, headers=bearer())

    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_missing_token_is_a_401_problem_with_a_bearer_challenge(service: Service) -> None:
    name, client = service

    response = client.get(READS[name][0])

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Basic Y2xpbmljOnNlY3JldA==", "Bearer ", "bearer x.y.z"],
)
def test_an_invalid_token_is_a_401_problem(service: Service, authorization: str) -> None:
    name, client = service

    response = client.get(READS[name][0], headers={"Authorization": authorization})

    assert_problem(response, 401)


def test_a_token_signed_with_another_secret_is_a_401_problem(service: Service) -> None:
    name, client = service
    forged = mint_token("not-the-configured-secret-but-long-enough-0123", "x", "clinic-a")

    response = client.get(READS[name][0], headers={"Authorization": f"Bearer {forged}"})

    assert_problem(response, 401)


def test_an_expired_token_is_a_401_problem(service: Service) -> None:
    name, client = service

    response = client.get(READS[name][0], headers=bearer(ttl=-5))

    assert_problem(response, 401)


def test_a_token_without_the_needed_scope_is_a_403_problem_naming_the_scope(
    service: Service,
) -> None:
    name, client = service
    path, scope = READS[name]
    others = " ".join(s for s in ALL_SCOPES.split() if s != scope)

    body = assert_problem(client.get(path, headers=bearer(scopes=others)), 403)

    assert body["required_scope"] == scope


def test_a_read_scope_does_not_allow_writing(writer: Writer) -> None:
    client, path, body, scope = writer
    read_scope = scope.replace(":write", ":read")

    problem = assert_problem(client.post(path, json=body, headers=bearer(scopes=read_scope)), 403)

    assert problem["required_scope"] == scope


def test_another_tenants_client_is_a_404_problem(apps: dict[str, Flask]) -> None:
    client = apps["intake"].test_client()
    created = client.post("/v1/clients", json=A_REFERRAL, headers=bearer("clinic-a"))
    assert created.status_code == 201

    response = client.get(created.headers["Location"], headers=bearer("clinic-b"))

    assert_problem(response, 404)
    assert client.get(created.headers["Location"], headers=bearer("clinic-a")).status_code == 200


def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing(
    apps: dict[str, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    from waypoint_intake.service_layer import handlers

    def broken(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise RuntimeError("connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(handlers, "load_client", broken)
    client = apps["intake"].test_client()

    response = client.get(f"/v1/clients/{uuid.uuid4()}", headers=bearer())

    assert_problem(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)


def a_value_for(converter: BaseConverter) -> object:
    """A UUID, or the first of the values an `any(...)` path segment allows."""
    choices = getattr(converter, "items", None)
    return sorted(choices)[0] if choices else uuid.uuid4()


def assert_refusal(response: TestResponse, status: int) -> None:
    """problem+json under /v1; a FHIR OperationOutcome under /fhir."""
    if response.request.path.startswith("/fhir/"):
        assert response.status_code == status
        assert response.mimetype == "application/fhir+json"
        assert response.get_json()["resourceType"] == "OperationOutcome"
    else:
        assert_problem(response, status)


def api_calls(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every route under /v1 and /fhir, path parameters filled with UUIDs."""
    calls: list[tuple[str, str]] = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(("/v1/", "/fhir/")) or rule.rule in PUBLIC_PATHS:
                continue  # a FHIR base's CapabilityStatement is public
            values: dict[str, Any] = {
                name: a_value_for(rule._converters[name]) for name in rule.arguments
            }
            path = url_for(rule.endpoint, **values)
            calls += [(m, path) for m in sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})]
    return calls


def test_every_route_of_every_service_refuses_missing_tokens_and_missing_scopes(
    apps: dict[str, Flask],
) -> None:
    for name, app in apps.items():
        client, calls = app.test_client(), api_calls(app)
        assert calls, f"{name} has no API routes"
        for method, path in calls:
            body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
            anonymous = client.open(path, method=method, json=body)
            assert_refusal(anonymous, 401)
            scopeless = client.open(path, method=method, json=body, headers=bearer(scopes=""))
            assert_refusal(scopeless, 403)


def test_health_and_openapi_answer_without_a_token(service: Service) -> None:
    _, client = service

    for path in ("/health/live", "/health/ready", "/openapi.json", "/fhir/metadata"):
        assert client.get(path).status_code == 200, path
    assert re.fullmatch(r"3\.1\.\d+", client.get("/openapi.json").get_json()["openapi"])


def test_the_openapi_document_declares_bearer_security_and_every_api_route(
    service: Service,
) -> None:
    name, client = service

    spec = client.get("/openapi.json").get_json()

    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert any(path.startswith("/v1/") for path in spec["paths"]), name


def test_json_nested_deeper_than_32_levels_is_a_400_problem_before_any_parser_recurses(
    service: Service,
) -> None:
    name, client = service
    path = WRITES.get(name, (f"/v1/clients/{uuid.uuid4()}/sessions",))[0]
    headers = {**bearer(), "Content-Type": "application/json"}
    fine = '{"a": ' + "[" * 31 + "]" * 31 + ', "b": "' + "[" * 100 + '"}'

    deep = client.post(path, data="[" * 60_000, headers=headers)
    shallow = client.post(path, data=fine, headers=headers)

    assert "nested deeper than 32" in assert_problem(deep, 400)["detail"]
    assert shallow.status_code == 422  # parsed, then refused by the schema: not a nesting error


@pytest.mark.parametrize("factory", list(FACTORIES.values()), ids=list(FACTORIES))
def test_a_token_over_its_rate_is_a_429_problem_with_retry_after_and_others_pass(
    factory: Callable[[], Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYPOINT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WAYPOINT_RATE_LIMIT", "3")
    app = factory()
    client, flooding, other = app.test_client(), bearer("clinic-b"), bearer("clinic-a")

    public = [client.get("/openapi.json", headers=flooding).status_code for _ in range(5)]
    reads = [client.get(READS_OF[app.name], headers=flooding) for _ in range(5)]
    served = client.get(READS_OF[app.name], headers=other)

    assert 429 not in public  # public paths have no bucket
    assert [r.status_code == 429 for r in reads] == [False] * 3 + [True] * 2
    assert_problem(reads[-1], 429)
    assert int(reads[-1].headers["Retry-After"]) >= 1
    assert served.status_code != 429
    app.extensions["waypoint"].engine.dispose()


READS_OF = {f"waypoint_{name}": path for name, (path, _) in READS.items()}


def test_metrics_on_the_web_port_need_a_token_with_scope_metrics_or_admin(service: Service) -> None:
    _, client = service

    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers=bearer(scopes="intake:read")), 403)
    for scopes in ("metrics", "admin"):
        scraped = client.get("/metrics", headers=bearer(scopes=scopes))
        assert scraped.status_code == 200 and b"waypoint_http_requests" in scraped.data, scopes
