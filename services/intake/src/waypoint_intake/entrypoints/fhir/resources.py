"""Intake as a FHIR R4 base: Patient, EpisodeOfCare, Consent, QuestionnaireResponse,
Observation, the Questionnaires the QuestionnaireResponses answer and the StructureDefinitions of
the EpisodeOfCare's extensions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.common import container
from waypoint_intake.entrypoints.fhir import mapping
from waypoint_intake.entrypoints.fhir.schemas import (
    FhirBundleSchema,
    FhirResourceSchema,
    PatientSearchSchema,
)
from waypoint_intake.service_layer import handlers, queries
from waypoint_shared.catalog.fhir_definitions import questionnaires, structure_definitions
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.fhir_definitions import serve
from waypoint_shared.http.problems import FHIR_JSON
from waypoint_shared.http.web import public_url, public_url_of_request

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4 exports")
OUTCOME = "An OperationOutcome saying what went wrong."
F = TypeVar("F", bound=Callable[..., Any])
Build = Callable[[Client, dict[int, datetime]], list[dict[str, Any]]]
serve(blp, "Questionnaire", questionnaires)
serve(blp, "StructureDefinition", structure_definitions)  # the EpisodeOfCare extensions


def patient_search(rule: str) -> Callable[[F], F]:
    """Route a FHIR search by `patient`: its query, a searchset, a 422 OperationOutcome."""

    def decorate(view: F) -> F:
        problems = blp.alt_response(
            422, schema=FhirResourceSchema, content_type=FHIR_JSON, description=OUTCOME
        )
        answered = blp.response(200, FhirBundleSchema, content_type=FHIR_JSON)
        searched = blp.arguments(PatientSearchSchema(), location="query")
        routed = blp.route(rule, methods=["GET"])
        return cast(F, routed(searched(answered(problems(requires("intake:read")(view))))))

    return decorate


def fhir_response(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype=FHIR_JSON)


@blp.route("/Patient/<uuid:client_id>", methods=["GET"])
@blp.response(200, FhirResourceSchema, content_type=FHIR_JSON)
@blp.alt_response(404, schema=FhirResourceSchema, content_type=FHIR_JSON, description=OUTCOME)
@requires("intake:read")
def read_patient(client_id: Any) -> Response:
    """Read a client as a FHIR Patient"""
    app = container()
    with read(app.engine) as conn:
        client = handlers.load_client(app.intake, conn, principal().tenant, str(client_id))
    return fhir_response(mapping.patient(client))


@patient_search("/EpisodeOfCare")
def search_episodes_of_care(query: dict[str, Any]) -> Response:
    """Search a client's episode of care (referral to discharge, ending reason, age group)"""
    return _search(query, lambda c, _: [mapping.episode_of_care(c)])


@patient_search("/Consent")
def search_consents(query: dict[str, Any]) -> Response:
    """Search a client's consents (revoked ones are inactive)"""
    return _search(query, lambda c, _: [mapping.consent(c.client_id, g) for g in c.consents])


@patient_search("/QuestionnaireResponse")
def search_questionnaire_responses(query: dict[str, Any]) -> Response:
    """Search a client's screenings as QuestionnaireResponses (item scores as answers)"""
    return _search(
        query,
        lambda c, times: [
            mapping.questionnaire_response(c.client_id, s, times[s["version"]])
            for s in c.screenings
        ],
    )


@patient_search("/Observation")
def search_observations(query: dict[str, Any]) -> Response:
    """Search a client's screening scores as LOINC survey Observations"""
    return _search(
        query,
        lambda c, times: [
            o
            for s in c.screenings
            for o in mapping.observations(c.client_id, s, times[s["version"]])
        ],
    )


def _search(query: dict[str, Any], build: Build) -> Response:
    """A searchset for one patient; a patient this tenant does not have matches nothing."""
    app, client_id = container(), query["patient"].removeprefix("Patient/").lower()
    with read(app.engine) as conn:
        found = queries.find_client_with_times(app.intake, conn, principal().tenant, client_id)
    resources = build(*found) if found else []
    return fhir_response(mapping.searchset(resources, public_url("/"), public_url_of_request()))
