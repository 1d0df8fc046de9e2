"""Intake as a FHIR R4 base: Patient, EpisodeOfCare, Consent, QuestionnaireResponse and
Observation, each read by id and searched by patient; the Questionnaires the QuestionnaireResponses
answer and the StructureDefinitions of the EpisodeOfCare's extensions; the CapabilityStatement at
/fhir/metadata."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.domain.client import Client
from waypoint_intake.domain.errors import NotFound
from waypoint_intake.entrypoints.common import container
from waypoint_intake.entrypoints.fhir import mapping
from waypoint_intake.entrypoints.fhir.schemas import (
    ObservationSearchSchema,
    PatientSearchSchema,
    QuestionnaireResponseSearchSchema,
)
from waypoint_intake.service_layer import queries
from waypoint_shared.catalog.fhir_definitions import questionnaires, structure_definitions
from waypoint_shared.db.database import read
from waypoint_shared.http import audit, fhir, fhir_definitions
from waypoint_shared.http.auth import principal

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4 exports")
capabilities = fhir.Capabilities("Waypoint intake", "intake:read")
capabilities.serve_metadata(blp)
capabilities.include(fhir_definitions.capabilities)  # the CodeSystems every base serves
fhir_definitions.serve(blp, "Questionnaire", questionnaires, capabilities)
fhir_definitions.serve(blp, "StructureDefinition", structure_definitions, capabilities)
Times = dict[int, datetime]
Build = Callable[[Client, Times], list[dict[str, Any]]]


def _patient(client: Client, times: Times) -> list[dict[str, Any]]:
    return [fhir.recorded(mapping.patient(client), times[max(times)])]


def _episodes(client: Client, times: Times) -> list[dict[str, Any]]:
    return [fhir.recorded(mapping.episode_of_care(client), times[max(times)])]


def _consents(client: Client, times: Times) -> list[dict[str, Any]]:
    """Each grant, last changed when it was granted or revoked."""
    return [
        fhir.recorded(
            mapping.consent(client.client_id, granted),
            times[max(granted["version"], granted.get("revoked_version") or 0)],
        )
        for granted in client.consents
    ]


def _questionnaire_responses(client: Client, times: Times) -> list[dict[str, Any]]:
    return [
        fhir.recorded(
            mapping.questionnaire_response(client.client_id, s, times[s["version"]]),
            times[s["version"]],
        )
        for s in client.screenings
    ]


def _observations(client: Client, times: Times) -> list[dict[str, Any]]:
    return [
        fhir.recorded(observation, times[s["version"]])
        for s in client.screenings
        for observation in mapping.observations(client.client_id, s, times[s["version"]])
    ]


@capabilities.read(blp, "Patient", "<uuid:client_id>")
def read_patient(client_id: Any) -> Response:
    """Read a client as a FHIR Patient"""
    found = _client(str(client_id))
    if found is None:
        raise NotFound(str(client_id))
    return fhir.answer(_patient(*found)[0])


@capabilities.read(blp, "EpisodeOfCare", "<uuid:resource_id>")
def read_episode_of_care(resource_id: Any) -> Response:
    """Read a client's episode of care by its id"""
    return _read("EpisodeOfCare", str(resource_id), _episodes)


@capabilities.read(blp, "Consent", "<uuid:resource_id>")
def read_consent(resource_id: Any) -> Response:
    """Read a consent by its id"""
    return _read("Consent", str(resource_id), _consents)


@capabilities.read(blp, "QuestionnaireResponse", "<uuid:resource_id>")
def read_questionnaire_response(resource_id: Any) -> Response:
    """Read a screening as a QuestionnaireResponse (its id is the screening id)"""
    return _read("QuestionnaireResponse", str(resource_id), _questionnaire_responses)


@capabilities.read(blp, "Observation", "<uuid:resource_id>")
def read_observation(resource_id: Any) -> Response:
    """Read a screening's panel or total score Observation by its id"""
    return _read("Observation", str(resource_id), _observations)


@capabilities.search(blp, "EpisodeOfCare", PatientSearchSchema)
def search_episodes_of_care(query: dict[str, Any]) -> Response:
    """Search a client's episode of care (referral to discharge, ending reason, age group)"""
    return _search(query, _episodes)


@capabilities.search(blp, "Consent", PatientSearchSchema)
def search_consents(query: dict[str, Any]) -> Response:
    """Search a client's consents (revoked ones are inactive)"""
    return _search(query, _consents)


@capabilities.search(blp, "QuestionnaireResponse", QuestionnaireResponseSearchSchema)
def search_questionnaire_responses(query: dict[str, Any]) -> Response:
    """Search a client's screenings as QuestionnaireResponses (item scores as answers)"""
    return _search(query, _questionnaire_responses)


@capabilities.search(blp, "Observation", ObservationSearchSchema)
def search_observations(query: dict[str, Any]) -> Response:
    """Search a client's screening scores as LOINC survey Observations"""
    return _search(query, _observations)


def _client(client_id: str) -> tuple[Client, Times] | None:
    app = container()
    with read(app.engine) as conn:
        return queries.find_client_with_times(app.intake, conn, principal().tenant, client_id)


def _read(resource_type: str, resource_id: str, build: Build) -> Response:
    """One resource by id; another tenant's answers as an unknown id does."""
    app = container()
    with read(app.engine) as conn:
        owner = queries.owner_of_fhir_resource(conn, principal().tenant, resource_type, resource_id)
    found = _client(owner) if owner else None
    resources = [r for r in build(*found) if r["id"] == resource_id] if found else []
    if not resources:
        raise fhir.not_found(resource_type, resource_id)
    audit.reads(owner)
    return fhir.answer(resources[0])


def _search(query: dict[str, Any], build: Build) -> Response:
    """A searchset for one patient; a patient this tenant does not have matches nothing."""
    client_id = fhir.searched_patient(query)
    found = _client(client_id) if client_id else None
    return fhir.answer(fhir.searchset(build(*found) if found else [], query))
