"""Progress's web entrypoint: `gunicorn 'waypoint_progress.entrypoints.app:create_app()'`.

Every domain refusal is mapped to problem+json here, in one place.
"""

from __future__ import annotations

from flask import Flask

from waypoint_progress import config
from waypoint_progress.bootstrap import Container, bootstrap
from waypoint_progress.domain.errors import (
    AlertNotFound,
    AlreadyAcknowledged,
    ClientNotEligible,
    ClientNotKnownYet,
    ClientNotSeen,
    InvalidSession,
    SessionEnteredInErrorBefore,
    SessionNotFound,
)
from waypoint_progress.entrypoints import rebuild
from waypoint_progress.entrypoints.alerts.resources import blp as alerts
from waypoint_progress.entrypoints.embed.resources import blp as embed
from waypoint_progress.entrypoints.fhir.resources import blp as fhir
from waypoint_progress.entrypoints.measures.resources import blp as measures
from waypoint_progress.entrypoints.outcome.resources import blp as outcome
from waypoint_progress.entrypoints.privacy.resources import blp as privacy
from waypoint_progress.entrypoints.sessions.resources import blp as sessions
from waypoint_progress.entrypoints.timeline.resources import blp as timeline
from waypoint_progress.entrypoints.webhooks.resources import ERRORS as WEBHOOK_ERRORS
from waypoint_progress.entrypoints.webhooks.resources import blp as webhooks
from waypoint_progress.service_layer.queries import BadCursor
from waypoint_shared import service
from waypoint_shared.config import Settings
from waypoint_shared.http.fhir_definitions import blp as fhir_definitions
from waypoint_shared.http.problems import (
    ErrorMapping,
    bad_cursor,
    client_not_eligible,
    client_not_known_yet,
)

SPEC = service.ServiceSpec[Container](
    name="progress",
    title="Waypoint progress",
    settings=config.settings,
    bootstrap=bootstrap,
    blueprints=(
        timeline,
        sessions,
        alerts,
        measures,
        privacy,
        fhir,
        fhir_definitions,
        outcome,
        embed,
        webhooks,
    ),
    errors=(
        ErrorMapping(
            ClientNotSeen,
            404,
            "Not Found",
            lambda e: f"Progress has seen no event of client {e}.",
        ),
        bad_cursor(BadCursor),
        ErrorMapping(
            SessionNotFound, 404, "Not Found", lambda e: f"No session {e} of this client."
        ),
        ErrorMapping(
            SessionEnteredInErrorBefore,
            409,
            "Conflict",
            lambda e: f"Session {e} was marked entered in error; it cannot be changed.",
        ),
        ErrorMapping(AlertNotFound, 404, "Not Found", lambda e: f"No alert {e} of this client."),
        ErrorMapping(
            AlreadyAcknowledged,
            409,
            "Conflict",
            lambda e: f"Alert {e} was acknowledged before.",
        ),
        client_not_known_yet("progress", ClientNotKnownYet),
        client_not_eligible(ClientNotEligible),
        ErrorMapping(
            InvalidSession,  # by what is recorded: the referral's date, a session not attended
            409,
            "Conflict",
            lambda _: "The request does not fit what is recorded of the client.",
            lambda e: {"errors": {e.field: e.problems}},
        ),
        *WEBHOOK_ERRORS,
    ),
    listens=service.Listening(
        services=("intake", "goals", "progress"),
        handle=lambda container: container.projector.handle,
        handle_batch=lambda container: container.projector.handle_all,
        known_client=lambda container: container.projector.knows,
    ),
    commands=(rebuild.command,),
)


def create_app(settings: Settings | None = None) -> Flask:
    return service.create_app(SPEC, settings)
