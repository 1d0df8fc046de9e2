"""Intake's web entrypoint: `gunicorn 'waypoint_intake.entrypoints.app:create_app()'`.

Every domain refusal is mapped to problem+json here, in one place; under /fhir the same
problems are answered as FHIR OperationOutcome.
"""

from __future__ import annotations

from flask import Flask

from waypoint_intake import config
from waypoint_intake.adapters.indexes import BadCursor, ExternalIdTaken
from waypoint_intake.bootstrap import Container, bootstrap
from waypoint_intake.domain.errors import (
    ContradictsRecord,
    IntakeIncomplete,
    InvalidRequest,
    NotFound,
    Refused,
    TherapistNotFound,
)
from waypoint_intake.entrypoints.assignment.resources import blp as assignment
from waypoint_intake.entrypoints.clients.resources import blp as clients
from waypoint_intake.entrypoints.consents.resources import blp as consents
from waypoint_intake.entrypoints.context.resources import blp as context
from waypoint_intake.entrypoints.fhir.resources import blp as fhir
from waypoint_intake.entrypoints.lifecycle.resources import blp as lifecycle
from waypoint_intake.entrypoints.privacy.resources import blp as privacy
from waypoint_intake.entrypoints.screenings.resources import blp as screenings
from waypoint_intake.entrypoints.therapists.resources import blp as therapists
from waypoint_shared import service
from waypoint_shared.config import Settings
from waypoint_shared.http.fhir_definitions import blp as fhir_definitions
from waypoint_shared.http.problems import ErrorMapping, bad_cursor

UNPROCESSABLE = "Unprocessable Content"

SPEC = service.ServiceSpec[Container](
    name="intake",
    title="Waypoint intake",
    settings=config.settings,
    bootstrap=bootstrap,
    blueprints=(
        clients,
        context,
        consents,
        screenings,
        therapists,
        assignment,
        lifecycle,
        privacy,
        fhir,
        fhir_definitions,
    ),
    errors=(
        ErrorMapping(NotFound, 404, "Not Found", lambda e: f"No client {e} for this tenant."),
        ErrorMapping(
            TherapistNotFound,
            404,
            "Not Found",
            lambda e: f"No therapist {e} on this tenant's roster.",
        ),
        ErrorMapping(
            ExternalIdTaken,
            409,
            "Conflict",
            lambda _e: "A client with this external_id was already referred.",
            lambda e: {"client_id": e.client_id, "location": f"/v1/clients/{e.client_id}"},
        ),
        ErrorMapping(
            ContradictsRecord,
            409,
            "Conflict",
            lambda _e: "The request is at odds with what the record holds.",
            lambda e: {"errors": e.errors},
        ),
        ErrorMapping(
            InvalidRequest,
            422,
            UNPROCESSABLE,
            lambda _e: "The request breaks a rule of intake.",
            lambda e: {"errors": e.errors},
        ),
        ErrorMapping(
            IntakeIncomplete,
            409,
            "Conflict",
            lambda e: f"Intake cannot be completed yet; missing: {', '.join(e.missing)}.",
            lambda e: {"missing": e.missing},
        ),
        ErrorMapping(Refused, 409, "Conflict"),
        bad_cursor(BadCursor),
    ),
)


def create_app(settings: Settings | None = None) -> Flask:
    return service.create_app(SPEC, settings)
