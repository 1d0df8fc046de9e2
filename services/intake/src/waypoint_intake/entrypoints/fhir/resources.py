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
capabilities = fhir.Capabilities("Waypoint intake", ("intake:read",))
capabilities.serve_metadata(blp)
capabilities.include(fhir_definitions.capabilities)  # the CodeSystems every base serves
definitions = fhir.Capabilities("Waypoint intake", fhir_definitions.READ_SCOPES)
capabilities.include(definitions)
fhir_definitions.serve(blp, "Questionnaire", questionnaires, definitions)
fhir_definitions.serve(blp, "StructureDefinition", structure_definitions, definitions)
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


# Each export but Patient: what builds it, its search's parameters, and what it is.
EXPORTS: dict[str, tuple[Build, type[fhir.SearchSchema], str]] = {
    "EpisodeOfCare": (
        _episodes,
        PatientSearchSchema,
        "a client's episode of care (referral to discharge, ending reason, age group)",
    ),
    "Consent": (_consents, PatientSearchSchema, "a client's consents (revoked ones are inactive)"),
    "QuestionnaireResponse": (
        _questionnaire_responses,
        QuestionnaireResponseSearchSchema,
        "a client's screenings as QuestionnaireResponses (item scores as answers)",
    ),
    "Observation": (
        _observations,
        ObservationSearchSchema,
        "a client's screening scores as LOINC survey Observations (panel and total)",
    ),
}


def _route(resource_type: str, build: Build, schema: type[fhir.SearchSchema], what: str) -> None:
    """`GET /fhir/<type>/<id>` and `GET /fhir/<type>?patient=…` of one export."""

    def read_one(resource_id: Any) -> Response:
        return _read(resource_type, str(resource_id), build)

    def search(query: dict[str, Any]) -> Response:
        return _search(query, build)

    name = resource_type.lower()
    read_one.__name__, read_one.__doc__ = f"read_{name}", f"Read one of {what}, by its id"
    search.__name__, search.__doc__ = f"search_{name}", f"Search {what}"
    capabilities.read(blp, resource_type, "<uuid:resource_id>")(read_one)
    capabilities.search(blp, resource_type, schema)(search)


for _type, (_build, _schema, _what) in EXPORTS.items():
    _route(_type, _build, _schema, _what)


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
