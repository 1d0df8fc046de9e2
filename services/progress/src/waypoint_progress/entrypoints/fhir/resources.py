"""FHIR R4 (docs/architecture.md §8): progress's session measures as Observations."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.fhir import observations
from waypoint_progress.entrypoints.fhir.schemas import ObservationSearchSchema
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.openapi import fhir_answer
from waypoint_shared.http.problems import FHIR_JSON
from waypoint_shared.http.web import public_url

blp = Blueprint("fhir", __name__, url_prefix="/fhir", description="FHIR R4 Observations")


@blp.route("/Observation", methods=["GET"])
@blp.arguments(ObservationSearchSchema, location="query")
@blp.response(200, content_type=FHIR_JSON, description="A searchset Bundle of Observations")
@blp.doc(responses=fhir_answer("Bundle", "A searchset Bundle of Observations"))
@requires("progress:read")
def search_observations(query: dict[str, Any]) -> Response:
    """Search a client's session measures as FHIR Observations"""
    wired = container()
    client_id = str(query["patient"])
    with read(wired.engine) as conn:
        sessions = queries.session_measures(conn, principal().tenant, client_id)
    bundle = observations.searchset(public_url("/"), observations.observations(client_id, sessions))
    return Response(json.dumps(bundle), mimetype=FHIR_JSON)
