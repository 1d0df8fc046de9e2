"""The consents resource: grant a consent, revoke it."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from waypoint_intake.entrypoints.clients.commands import change_client, client_route
from waypoint_intake.entrypoints.common import states_body
from waypoint_intake.entrypoints.consents.schemas import (
    ConsentGrantSchema,
    RevocationSchema,
    kind_shapes,
)
from waypoint_intake.service_layer import handlers

blp = Blueprint("consents", __name__, url_prefix="/v1/clients", description="Consents")
REVOCATION = (
    "/<uuid:client_id>/consents/<any(treatment, confidentiality, data_sharing):kind>/revocation"
)


@client_route(blp, "/<uuid:client_id>/consents", ConsentGrantSchema())
@states_body(blp, ConsentGrantSchema(), kind_shapes())
def grant_consent(consent: dict[str, Any], client_id: Any) -> Response:
    """Grant a consent (treatment, confidentiality or data sharing)"""
    acting = consent.pop("recorded_by")
    consent["signed_at"] = consent["signed_at"].isoformat()
    return change_client(client_id, acting, handlers.grant_consent, consent)


@client_route(blp, REVOCATION, RevocationSchema())
def revoke_consent(revocation: dict[str, Any], client_id: Any, kind: str) -> Response:
    """Revoke a consent"""
    acting = revocation.pop("recorded_by")
    return change_client(client_id, acting, handlers.revoke_consent, kind, **revocation)
