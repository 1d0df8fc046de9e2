"""What the client brings and what they were told: cultural context and expectations."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.entrypoints.clients.commands import change_client, client_route
from waypoint_intake.entrypoints.context.schemas import (
    CulturalContextRequestSchema,
    ExpectationsSchema,
)
from waypoint_intake.service_layer import handlers

blp = Blueprint(
    "context", __name__, url_prefix="/v1/clients", description="Cultural context, expectations"
)
CULTURAL_CONTEXT = "/<uuid:client_id>/cultural-context"


@client_route(blp, CULTURAL_CONTEXT, CulturalContextRequestSchema(), method="PUT")
def record_cultural_context(context: dict[str, Any], client_id: Any) -> Response:
    """Record (replace) a client's cultural context and therapist preferences"""
    acting = context.pop("recorded_by")
    return change_client(client_id, acting, handlers.record_cultural_context, context)


@client_route(blp, "/<uuid:client_id>/expectations", ExpectationsSchema())
def acknowledge_expectations(acknowledgement: dict[str, Any], client_id: Any) -> Response:
    """Acknowledge expectations and boundaries"""
    return change_client(
        client_id,
        acknowledgement["acknowledged_by"],
        handlers.acknowledge_expectations,
        acknowledgement,
    )
