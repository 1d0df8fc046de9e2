"""FHIR R4 (docs/architecture.md §8): progress's session measures as Observations, read by id and
searched by patient; the CapabilityStatement at /fhir/metadata."""

from __future__ import annotations

import re
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.fhir import observations
from waypoint_progress.entrypoints.fhir.schemas import ObservationSearchSchema
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http import audit, fhir, fhir_definitions
from waypoint_shared.http.auth import principal

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4 Observations")
capabilities = fhir.Capabilities("Waypoint progress", ("progress:read",))
capabilities.serve_metadata(blp)
capabilities.include(fhir_definitions.capabilities)  # the CodeSystems every base serves
# An Observation's id: the session's id, then the instrument's name in lower case.
OBSERVATION_ID = re.compile(rf"^(?P<session>{fhir.UUID})-[a-z0-9-]{{1,16}}$")


def _observations(client_id: str) -> list[dict[str, Any]]:
    """The client's session measures as Observations."""
    wired = container()
    with read(wired.engine) as conn:
        sessions = queries.session_measures(conn, principal().tenant, client_id)
    return observations.observations(client_id, sessions)


@capabilities.read(blp, "Observation", "<string:observation_id>")
def read_observation(observation_id: str) -> Response:
    """Read one session measure as a FHIR Observation (its id: the session id and instrument)"""
    named = OBSERVATION_ID.match(observation_id)
    wired = container()
    with read(wired.engine) as conn:
        session = named["session"].lower() if named else ""
        client_id = queries.client_of_session(conn, principal().tenant, session) if named else None
    found = [o for o in _observations(client_id) if o["id"] == observation_id] if client_id else []
    if not found:
        raise fhir.not_found("Observation", observation_id)
    audit.reads(client_id)
    return fhir.answer(found[0])


@capabilities.search(blp, "Observation", ObservationSearchSchema)
def search_observations(query: dict[str, Any]) -> Response:
    """Search a client's session measures as FHIR Observations"""
    client_id = fhir.searched_patient(query)
    return fhir.answer(fhir.searchset(_observations(client_id) if client_id else [], query))
