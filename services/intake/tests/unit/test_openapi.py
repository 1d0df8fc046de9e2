"""Intake's OpenAPI document lists every route with its request and response schemas and its
documented problems."""

from __future__ import annotations

import re

from flask import Flask

from .conftest import Driver

WRITES = {"post", "put", "patch"}


def openapi_path(rule: str) -> str:
    """`/v1/clients/<uuid:client_id>` → `/v1/clients/{client_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def routes(app: Flask) -> list[tuple[str, str]]:
    return [
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/v1/", "/fhir/"))
        for method in set(rule.methods or ()) - {"HEAD", "OPTIONS"}
    ]


def test_every_intake_route_is_in_the_openapi_document_with_a_response_schema(
    intake: Driver,
) -> None:
    spec = intake.http.get("/openapi.json").get_json()

    for path, method in routes(intake.app):
        operation = spec["paths"][path][method]
        assert operation["summary"], (method, path)
        success = [s for s in operation["responses"] if s.startswith("2")]
        assert success, (method, path)
        content = operation["responses"][success[0]]["content"]
        assert next(iter(content.values()))["schema"], (method, path)


def test_every_intake_write_documents_its_request_body_and_its_422(intake: Driver) -> None:
    spec = intake.http.get("/openapi.json").get_json()

    writes = [(p, m) for p, m in routes(intake.app) if m in WRITES]
    assert len(writes) == 13
    for path, method in writes:
        operation = spec["paths"][path][method]
        assert operation["requestBody"]["content"]["application/json"]["schema"], path
        problem = operation["responses"]["422"]["content"]["application/problem+json"]
        assert problem["schema"], (method, path)


def test_the_issue_3_paths_are_all_published(intake: Driver) -> None:
    paths = set(intake.http.get("/openapi.json").get_json()["paths"])

    assert paths >= {
        "/v1/clients",
        "/v1/clients/{client_id}",
        "/v1/clients/{client_id}/history",
        "/v1/clients/{client_id}/cultural-context",
        "/v1/clients/{client_id}/consents",
        "/v1/clients/{client_id}/consents/{kind}/revocation",
        "/v1/clients/{client_id}/expectations",
        "/v1/clients/{client_id}/screenings",
        "/v1/therapists",
        "/v1/therapists/{therapist_id}",
        "/v1/clients/{client_id}/therapist-matches",
        "/v1/clients/{client_id}/therapist",
        "/v1/clients/{client_id}/completion",
        "/v1/clients/{client_id}/discharge",
        "/fhir/Patient/{client_id}",
        "/fhir/Consent",
        "/fhir/QuestionnaireResponse",
        "/fhir/Observation",
    }
