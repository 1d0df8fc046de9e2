"""Goals' web entrypoint: `gunicorn 'waypoint_goals.entrypoints.app:create_app()'`.

Every domain refusal is mapped to problem+json here, in one place.
"""

from __future__ import annotations

from flask import Flask

from waypoint_goals import config
from waypoint_goals.bootstrap import Container, bootstrap
from waypoint_goals.domain.errors import (
    ClientNotEligible,
    ClientNotFound,
    ClientNotKnownYet,
    NotFound,
    NothingChanged,
    Refused,
    StayingWellPlanNotFound,
    StepNotFound,
)
from waypoint_goals.entrypoints.check_ins.resources import blp as check_ins
from waypoint_goals.entrypoints.fhir.resources import blp as fhir
from waypoint_goals.entrypoints.goals.resources import blp as goals
from waypoint_goals.entrypoints.lifecycle.resources import blp as lifecycle
from waypoint_goals.entrypoints.plans.resources import blp as plans
from waypoint_goals.entrypoints.privacy.resources import blp as privacy
from waypoint_goals.entrypoints.staying_well.resources import blp as staying_well
from waypoint_goals.entrypoints.steps.resources import blp as steps
from waypoint_goals.service_layer import projector
from waypoint_shared import service
from waypoint_shared.config import Settings
from waypoint_shared.http.fhir_definitions import blp as fhir_definitions
from waypoint_shared.http.problems import ErrorMapping, client_not_eligible, client_not_known_yet

NOTHING_CHANGED = "Every value in changes equals the current one: there is nothing to revise."

SPEC = service.ServiceSpec[Container](
    name="goals",
    title="Waypoint goals",
    settings=config.settings,
    bootstrap=bootstrap,
    blueprints=(
        goals,
        lifecycle,
        steps,
        check_ins,
        plans,
        privacy,
        fhir,
        fhir_definitions,
        staying_well,
    ),
    errors=(
        ErrorMapping(NotFound, 404, "Not Found", lambda e: f"No goal {e} for this tenant."),
        ErrorMapping(
            StepNotFound, 404, "Not Found", lambda e: f"This goal has no action step {e}."
        ),
        ErrorMapping(
            ClientNotFound, 404, "Not Found", lambda e: f"Goals has heard of no client {e}."
        ),
        ErrorMapping(
            StayingWellPlanNotFound,
            404,
            "Not Found",
            lambda e: f"No staying-well plan has been agreed for client {e}.",
        ),
        client_not_known_yet("goals", ClientNotKnownYet),
        client_not_eligible(ClientNotEligible),
        ErrorMapping(Refused, 409, "Conflict", lambda e: e.detail, lambda e: e.extra),
        ErrorMapping(  # the goal's (or step's) state: it already has every value sent
            NothingChanged,
            409,
            "Conflict",
            lambda _e: NOTHING_CHANGED,
            lambda _e: {"errors": {"changes": [NOTHING_CHANGED]}},
        ),
    ),
    listens=service.Listening(
        services=("intake", "progress"),
        handle=lambda container: projector.handler(container.goals),
        known_client=lambda _container: projector.knows,
    ),
)


def create_app(settings: Settings | None = None) -> Flask:
    return service.create_app(SPEC, settings)
