"""The client's passage through intake: completing it, and discharge at the end of treatment."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.entrypoints.clients.commands import change_client, client_route
from waypoint_intake.entrypoints.lifecycle.schemas import CompletionSchema, DischargeSchema
from waypoint_intake.service_layer import handlers, roster

blp = Blueprint("lifecycle", __name__, url_prefix="/v1/clients", description="Completion")


@client_route(blp, "/<uuid:client_id>/completion", CompletionSchema())
def complete_intake(completion: dict[str, Any], client_id: Any) -> Response:
    """Complete intake (409 listing every missing requirement until all hold)"""
    return change_client(client_id, completion["recorded_by"], handlers.complete_intake)


@client_route(blp, "/<uuid:client_id>/discharge", DischargeSchema())
def discharge(discharge_: dict[str, Any], client_id: Any) -> Response:
    """Discharge a client at the end of treatment (frees their therapist's place)"""
    acting = discharge_.pop("recorded_by")
    return change_client(client_id, acting, roster.discharge, **discharge_)
