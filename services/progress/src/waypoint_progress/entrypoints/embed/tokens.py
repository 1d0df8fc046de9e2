"""Embed tokens: an embed grant as a signed JWT of its own kind, useless anywhere but the page.

Its audience (`waypoint-embed`) and type header (`waypoint-embed+jwt`) differ from an API
token's (audience `waypoint`), so neither is accepted where the other is expected. It is signed
with HS256 under a key progress derives from its master key (one per configured master key: signed
with the newest, checked against each, so a master-key rotation does not break a link minted a
minute before); no other service holds it, and a token never leaves progress's own page.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

import jwt

from waypoint_progress.domain.embed import EmbedGrant

AUDIENCE = "waypoint-embed"
TYPE = "waypoint-embed+jwt"
ISSUER = "waypoint-progress"
KEY_LABEL = b"waypoint progress embed tokens v1"
CLAIMS = ("exp", "iat", "aud", "iss", "sub", "tenant", "client", "view")


class EmbedTokenRefused(Exception):
    """A token that is not a valid, unexpired embed token of this service (the detail says why)."""


def signing_keys(master_key: str) -> list[bytes]:
    """One HMAC key per configured master key (newest first), each bound to this use alone."""
    parts = [part.strip() for part in master_key.split(",") if part.strip()]
    return [hmac.new(part.encode(), KEY_LABEL, hashlib.sha256).digest() for part in parts]


def mint(grant: EmbedGrant, keys: list[bytes]) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": grant.subject,
        "tenant": grant.tenant,
        "client": grant.client_id,
        "view": grant.view,
        "iat": int(time.time()),
        "exp": grant.expires_at,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, keys[0], algorithm="HS256", headers={"typ": TYPE})


def verify(token: str, keys: list[bytes]) -> EmbedGrant:
    """The grant a token carries; EmbedTokenRefused if it is forged, of another kind or expired."""
    try:
        if jwt.get_unverified_header(token).get("typ") != TYPE:
            raise EmbedTokenRefused("it is not an embed token")
    except jwt.PyJWTError as error:
        raise EmbedTokenRefused(str(error)) from error
    for key in keys:
        try:
            return _grant(_decoded(token, key))
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as error:
            raise EmbedTokenRefused("it has expired; mint a new one") from error
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise EmbedTokenRefused(str(error)) from error
    raise EmbedTokenRefused("its signature is not this service's")


def _decoded(token: str, key: bytes) -> dict[str, object]:
    return jwt.decode(
        token,
        key,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": list(CLAIMS)},
    )


def _grant(claims: dict[str, object]) -> EmbedGrant:
    client_id = str(uuid.UUID(str(claims["client"])))
    expires_at = claims["exp"]
    if not isinstance(expires_at, int):
        raise ValueError("exp is not a whole number of seconds")
    return EmbedGrant(
        str(claims["tenant"]), client_id, str(claims["view"]), str(claims["sub"]), expires_at
    )
