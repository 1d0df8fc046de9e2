"""The webhook subscriptions resource: subscribe a receiver to progress events, read and delete
subscriptions, rotate a signing secret, make a disabled subscription active again, read each
delivery's attempts and send one again.

Scope `webhooks:write` (or `admin`) for every call; another tenant's subscription is answered as
one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import Connection

from waypoint_progress.domain.webhooks import (
    DeliveryNotFound,
    ReceiverRefused,
    SubscriptionNotFound,
)
from waypoint_progress.entrypoints.common import container
from waypoint_progress.entrypoints.webhooks.schemas import (
    DeliveryPageQuerySchema,
    DeliveryPageSchema,
    DeliverySchema,
    EmptySchema,
    SubscriptionPageQuerySchema,
    SubscriptionPageSchema,
    SubscriptionRequestSchema,
    SubscriptionSchema,
    SubscriptionWithSecretSchema,
)
from waypoint_progress.service_layer.webhooks import view
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.http.auth import principal, requires
from waypoint_shared.http.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    Reply,
    execute,
    expected_version_from_if_match,
)
from waypoint_shared.http.problems import ErrorMapping, Problem
from waypoint_shared.http.web import public_url

blp = Blueprint(
    "webhooks", __name__, url_prefix="/v1", description="Signed webhooks of progress events"
)
SCOPES = ("webhooks:write", "admin")
SUBSCRIPTION = "/webhook-subscriptions/<uuid:subscription_id>"
ERRORS = (
    ErrorMapping(SubscriptionNotFound, 404, "Not Found", lambda e: f"No webhook subscription {e}."),
    ErrorMapping(
        DeliveryNotFound, 404, "Not Found", lambda e: f"No delivery {e} of this subscription."
    ),
    ErrorMapping(
        ReceiverRefused,
        422,
        "Unprocessable Content",
        lambda e: str(e),
        lambda e: {"errors": {"url": [str(e)]}},
    ),
)


@blp.before_request
def _well_formed_write_headers() -> None:
    """The write headers every write declares, refused when unreadable as by every other write:
    a subscription has no version, so a readable If-Match is not compared."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    expected_version_from_if_match()  # 400 if unreadable
    key = request.headers.get(HEADER)
    if key is not None and not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        message = f"{HEADER} must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters (a UUID fits)."
        raise Problem(422, "Unprocessable Content", message, errors={HEADER: [message]})


@blp.route("/webhook-subscriptions", methods=["POST"])
@blp.arguments(SubscriptionRequestSchema)
@blp.response(201, SubscriptionWithSecretSchema)
@blp.alt_response(422, description="An invalid field, or a receiver URL the rules refuse")
@requires(*SCOPES)
def create_webhook_subscription(body: dict[str, Any]) -> Response:
    """Subscribe a receiver; the answer shows the signing secret, once"""
    wired, tenant = container(), principal().tenant

    def work(conn: Connection) -> Reply:
        created = wired.webhooks.subscribe(conn, tenant, body)
        location = public_url(f"/v1/webhook-subscriptions/{created['id']}")
        return Reply(201, SubscriptionWithSecretSchema().dump(created), {"Location": location})

    return execute(wired.engine, work)


@blp.route("/webhook-subscriptions", methods=["GET"])
@blp.arguments(SubscriptionPageQuerySchema, location="query")
@blp.response(200, SubscriptionPageSchema)
@requires(*SCOPES)
def list_webhook_subscriptions(query: dict[str, Any]) -> dict[str, Any]:
    """The tenant's webhook subscriptions"""
    wired, tenant = container(), principal().tenant
    cursor = str(query["cursor"]) if query.get("cursor") else None
    with read(wired.engine) as conn:
        return wired.webhooks.subscriptions(conn, tenant, cursor, query["limit"])


@blp.route(SUBSCRIPTION, methods=["GET"])
@blp.response(200, SubscriptionSchema)
@blp.alt_response(404, description="No such subscription")
@requires(*SCOPES)
def get_webhook_subscription(subscription_id: Any) -> dict[str, Any]:
    """One webhook subscription, with why it was disabled if it was"""
    wired, tenant = container(), principal().tenant
    with read(wired.engine) as conn:
        return view(wired.webhooks.found(conn, tenant, str(subscription_id)))


@blp.route(SUBSCRIPTION, methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="No such subscription")
@requires(*SCOPES)
def delete_webhook_subscription(subscription_id: Any) -> Response:
    """Delete a subscription and its deliveries; nothing more is sent to it"""
    wired, tenant = container(), principal().tenant
    run_in_transaction(
        wired.engine, lambda conn: wired.webhooks.unsubscribe(conn, tenant, str(subscription_id))
    )
    return Response(status=204)


@blp.route(f"{SUBSCRIPTION}/secret-rotation", methods=["POST"])
@blp.arguments(EmptySchema)
@blp.response(200, SubscriptionWithSecretSchema)
@blp.alt_response(404, description="No such subscription")
@requires(*SCOPES)
def rotate_webhook_secret(_body: dict[str, Any], subscription_id: Any) -> Response:
    """A new signing secret, shown once; the old one still signs for 24 hours"""
    wired, tenant = container(), principal().tenant

    def work(conn: Connection) -> Reply:
        rotated = wired.webhooks.rotate_secret(conn, tenant, str(subscription_id))
        return Reply(200, SubscriptionWithSecretSchema().dump(rotated))

    return execute(wired.engine, work)


@blp.route(f"{SUBSCRIPTION}/reactivation", methods=["POST"])
@blp.arguments(EmptySchema)
@blp.response(200, SubscriptionSchema)
@blp.alt_response(404, description="No such subscription")
@requires(*SCOPES)
def reactivate_webhook_subscription(_body: dict[str, Any], subscription_id: Any) -> Response:
    """Make a disabled subscription active again; its deliveries still pending are tried from
    now (events consumed while it was disabled are not sent)"""
    wired, tenant = container(), principal().tenant

    def work(conn: Connection) -> Reply:
        active = wired.webhooks.reactivate(conn, tenant, str(subscription_id))
        return Reply(200, SubscriptionSchema().dump(active))

    return execute(wired.engine, work)


@blp.route(f"{SUBSCRIPTION}/deliveries", methods=["GET"])
@blp.arguments(DeliveryPageQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
@blp.alt_response(404, description="No such subscription")
@requires(*SCOPES)
def list_webhook_deliveries(query: dict[str, Any], subscription_id: Any) -> dict[str, Any]:
    """The subscription's deliveries, oldest first, each attempt with its time, status code,
    latency and error"""
    wired, tenant = container(), principal().tenant
    with read(wired.engine) as conn:
        return wired.webhooks.deliveries(
            conn, tenant, str(subscription_id), query.get("cursor"), query["limit"]
        )


@blp.route(f"{SUBSCRIPTION}/deliveries/<string:delivery_id>/retry", methods=["POST"])
@blp.arguments(EmptySchema)
@blp.response(200, DeliverySchema)
@blp.alt_response(404, description="No such subscription, or no such delivery of it")
@requires(*SCOPES)
def retry_webhook_delivery(
    _body: dict[str, Any], subscription_id: Any, delivery_id: str
) -> Response:
    """Send a delivery again now, with the same webhook-id"""
    wired, tenant = container(), principal().tenant

    def work(conn: Connection) -> Reply:
        retried = wired.webhooks.retry(conn, tenant, str(subscription_id), delivery_id)
        return Reply(200, DeliverySchema().dump(retried))

    return execute(wired.engine, work)
