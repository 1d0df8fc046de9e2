"""Request, query and response schemas of the embeddable timeline page and its tokens."""

from marshmallow import RAISE, Schema, fields, validate

from waypoint_progress.domain.embed import DEFAULT_TTL, MAX_TTL, MIN_TTL, VIEWS


class EmbedTokenRequestSchema(Schema):
    view = fields.String(
        required=True,
        validate=validate.OneOf(VIEWS),
        metadata={"description": "`client`: scores and milestones; `clinician`: alerts too"},
    )
    ttl_seconds = fields.Integer(
        load_default=DEFAULT_TTL,
        validate=validate.Range(min=MIN_TTL, max=MAX_TTL),
        metadata={"description": f"How long the token opens the page ({DEFAULT_TTL} if absent)"},
    )


class EmbedTokenSchema(Schema):
    token = fields.String(
        required=True, metadata={"description": "Opens this client's page only, read-only"}
    )
    url = fields.String(
        required=True, metadata={"description": "The page with the token: an iframe's `src`"}
    )
    client_id = fields.UUID(required=True)
    view = fields.String(required=True, validate=validate.OneOf(VIEWS))
    expires_at = fields.String(required=True, metadata={"description": "RFC 3339 time"})


class EmbedPageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "An embed token from POST …/embed-tokens (never an API token)"},
    )
