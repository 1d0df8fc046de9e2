"""Request and response schemas of the webhook subscriptions resource."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_progress.domain.webhooks import EVENT_TYPES

# A receiver URL as the document states it: http(s), a host name (an address only as 127.0.0.1,
# the development receiver), a port 1..65535, a path and a query of URL-safe characters; no
# credentials, no fragment. Each part is also one the URL field accepts.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
RECEIVER_URL = (
    rf"^https?://(?:(?:{_LABEL}\.)*{_TOP_LABEL}|127\.0\.0\.1)(?::{_PORT})?"
    r"(?:/[A-Za-z0-9._~%/-]*)?(?:\?[A-Za-z0-9._~%&=+-]+)?$"
)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class SubscriptionRequestSchema(Strict):
    url = fields.URL(
        required=True,
        schemes={"https", "http"},
        require_tld=False,
        validate=[
            validate.Length(max=2048),
            validate.Regexp(
                RECEIVER_URL, error="Must be an http(s) URL naming its host (or 127.0.0.1)."
            ),
        ],
        metadata={
            "description": "The receiver: https to a host name (in development http, and"
            " 127.0.0.1, too); no credentials, no fragment"
        },
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )
    description = fields.String(validate=validate.Length(max=500), allow_none=True)


class EmptySchema(Strict):
    """No fields: the request is the call itself."""


class SubscriptionSchema(Schema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "disabled")))
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    previous_secret_expires_at = fields.String(
        allow_none=True,
        metadata={"description": "Until when the secret before the last rotation still signs"},
    )


class SubscriptionWithSecretSchema(SubscriptionSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "The signing secret (whsec_…), shown only in this answer"},
    )


class SubscriptionPageQuerySchema(Strict):
    cursor = fields.UUID()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class SubscriptionPageSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class AttemptSchema(Schema):
    number = fields.Integer(required=True)
    attempted_at = fields.String(required=True)
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer(required=True)
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The webhook-id of every attempt"})
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    client_id = fields.UUID(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("pending", "delivered", "failed"))
    )
    created_at = fields.String(required=True)
    next_attempt_at = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class DeliveryPageQuerySchema(Strict):
    cursor = fields.Integer(validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)
    next_cursor = fields.String(allow_none=True)
