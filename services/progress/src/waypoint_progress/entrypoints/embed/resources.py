"""The embeddable timeline page: `POST /v1/clients/{id}/embed-tokens` mints a short-lived,
read-only token for one client's page, and `GET /embed/clients/{id}/timeline?token=…` serves it.

The page takes no bearer token (an iframe cannot send one): its own token, in the query, is its
credential. A token that is forged, of another kind (an API token) or expired answers 401; one
minted for another client or tenant answers 404, exactly as a client progress has not seen. Errors
are problem+json like every other answer of the service (docs/progress.md#embeddable-timeline).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Response, g
from flask_smorest import Blueprint

from waypoint_progress import config
from waypoint_progress.adapters import projection
from waypoint_progress.domain import embed
from waypoint_progress.domain.errors import ClientNotSeen
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.embed import page, tokens
from waypoint_progress.entrypoints.embed.schemas import (
    EmbedPageQuerySchema,
    EmbedTokenRequestSchema,
    EmbedTokenSchema,
)
from waypoint_progress.entrypoints.timeline.reads import UNKNOWN_CLIENT
from waypoint_progress.service_layer import queries
from waypoint_shared.db.database import read
from waypoint_shared.http.auth import Principal, own_credential, principal, requires
from waypoint_shared.http.erasure import ensure_not_erased
from waypoint_shared.http.problems import Problem
from waypoint_shared.http.web import public_url

blp = Blueprint("embed", __name__, description="The embeddable timeline page")
HTML = "text/html"


@blp.route("/v1/clients/<uuid:client_id>/embed-tokens", methods=["POST"])
@blp.arguments(EmbedTokenRequestSchema)
@blp.response(200, EmbedTokenSchema)
@blp.alt_response(404, description=UNKNOWN_CLIENT)
@requires("progress:read")
def create_embed_token(body: dict[str, Any], client_id: Any) -> dict[str, Any]:
    """Mint a short-lived token for a client's embeddable timeline page"""
    wired, caller = container(), principal()
    with read(wired.engine) as conn:
        if not projection.has_client(conn, caller.tenant, str(client_id)):
            raise ClientNotSeen(str(client_id))
    granted = embed.grant(
        caller.tenant,
        str(client_id),
        caller.subject,
        body["view"],
        body["ttl_seconds"],
        time.time(),
    )
    token = tokens.mint(granted, tokens.signing_keys(wired.settings.master_key))
    return {
        "token": token,
        "url": public_url(f"/embed/clients/{client_id}/timeline?token={token}"),
        "client_id": client_id,
        "view": granted.view,
        "expires_at": datetime.fromtimestamp(granted.expires_at, UTC).isoformat(),
    }


@blp.route("/embed/clients/<uuid:client_id>/timeline", methods=["GET"])
@blp.arguments(EmbedPageQuerySchema, location="query")
@blp.response(200, None, content_type=HTML, description="The client's timeline page")
@blp.doc(
    security=[],
    responses={
        "200": {
            "description": "The client's timeline page",
            "content": {HTML: {"schema": {"type": "string"}}},
        }
    },
)
@blp.alt_response(404, description=UNKNOWN_CLIENT)
@own_credential
def get_embed_timeline(query: dict[str, Any], client_id: Any) -> Response:
    """Show a client's timeline as a page to embed (its token in the query)"""
    wired = container()
    grant = _granted(query["token"], wired.settings.master_key)
    if not grant.admits(str(client_id)):
        raise ClientNotSeen(str(client_id))
    thresholds = wired.progress.thresholds
    with read(wired.engine) as conn:
        ensure_not_erased(conn, grant.tenant, grant.client_id)
        entries = queries.whole_timeline(conn, grant.tenant, grant.client_id)
        trajectories = queries.trajectories(conn, grant.tenant, grant.client_id, thresholds)
        age_group = projection.standing_of(conn, grant.tenant, grant.client_id).age_group
    # The read is audited (after the answer) under the subject who minted the token.
    g.principal = Principal(f"embed:{grant.subject}", grant.tenant, frozenset())
    drawn = page.render(grant, trajectories, entries, thresholds, age_group)
    answer = Response(drawn, mimetype=HTML)
    answer.headers["Content-Security-Policy"] = page.content_security_policy(
        config.embed_frame_ancestors(wired.settings)
    )
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


def _granted(token: str, master_key: str) -> embed.EmbedGrant:
    try:
        return tokens.verify(token, tokens.signing_keys(master_key))
    except tokens.EmbedTokenRefused as refused:
        raise Problem(401, "Unauthorized", f"The embed token is not valid: {refused}.") from None
