"""Bearer JWT authentication and scopes.

Checks in order: bad or missing token → 401, missing scope → 403; another tenant's resource is
then a 404 in the query itself. The algorithm comes from configuration, never from the token.
"""

from __future__ import annotations

import argparse
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import jwt
from flask import Flask, current_app, g, request

from waypoint_shared.config import (
    DEVELOPMENT_SECRET,
    PRODUCTION,
    minting_secret_and_environment,
)
from waypoint_shared.http.problems import Problem

AUDIENCE = "waypoint"
ALL_SCOPES = (
    "intake:read intake:write goals:read goals:write progress:read progress:write webhooks:write"
    " admin"
)
TENANT = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # the same form the event envelope accepts
# A FHIR base's CapabilityStatement is public, as FHIR clients read it before they authenticate.
PUBLIC_PATHS = ("/health/live", "/health/ready", "/openapi.json", "/fhir/metadata")
VERIFIED_TOKENS = 1024  # per process; a token is a few hundred bytes
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    scopes: frozenset[str]


class TokenVerifier:
    def __init__(self, secret: str | None = None, public_key: str | None = None):
        if public_key:
            self.key, self.algorithm = public_key, "RS256"
        elif secret:
            self.key, self.algorithm = secret, "HS256"
        else:
            raise ValueError("configure WAYPOINT_JWT_SECRET or WAYPOINT_JWT_PUBLIC_KEY")

        # Verified tokens, by their exact string: signature, audience, required claims and tenant
        # are properties of that string under this process's fixed key, so they are checked once;
        # expiry is checked on every use. Invalid tokens raise and are never kept.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS)(self._decode)

    def verify(self, token: str) -> Principal:
        expires, principal = self._verified(token)
        if time.time() < expires:
            return principal
        return self._decode(token)[1]  # expired since: the full check answers (a 401)

    def _decode(self, token: str) -> tuple[float, Principal]:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Problem(
                401,
                "Unauthorized",
                f"The bearer token is not valid: {error}.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from error
        if not isinstance(claims.get("tenant"), str) or not TENANT.fullmatch(claims["tenant"]):
            raise Problem(
                401,
                "Unauthorized",
                "The bearer token names no tenant.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        return float(claims["exp"]), Principal(str(claims["sub"]), claims["tenant"], scopes)


def requires(scope: str, *alternatives: str) -> Callable[[F], F]:
    """Mark a view as needing a scope (or one of the alternatives); the check runs before the
    body is even parsed."""

    def mark(view: F) -> F:
        # Marks on the view function itself, read back with getattr by authenticate() below.
        view.required_scope = scope  # type: ignore[attr-defined]  # a mark, not a declared attribute
        view.accepted_scopes = frozenset((scope, *alternatives))  # type: ignore[attr-defined]  # idem
        return view

    return mark


def own_credential(view: F) -> F:
    """Mark a view that checks a credential of its own instead of a bearer token (progress's
    embeddable page, opened by a link whose short-lived token is in its query); it sets the
    principal itself once that credential is checked."""
    view.own_credential = True  # type: ignore[attr-defined]  # a mark, read by authenticate()
    return view


def install_auth(app: Flask, verifier: TokenVerifier) -> None:
    @app.before_request
    def authenticate() -> None:
        if request.path in PUBLIC_PATHS or request.endpoint is None:
            return
        if getattr(current_app.view_functions[request.endpoint], "own_credential", False):
            return
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Problem(
                401,
                "Unauthorized",
                "Send a bearer token: Authorization: Bearer <JWT>.",
                {"WWW-Authenticate": "Bearer"},
            )
        g.principal = verifier.verify(header.removeprefix("Bearer ").strip())
        view = current_app.view_functions[request.endpoint]
        scope = getattr(view, "required_scope", None)
        accepted: frozenset[str] = getattr(view, "accepted_scopes", frozenset())
        if scope is None or not accepted & g.principal.scopes:
            raise Problem(
                403, "Forbidden", f"This call needs the scope {scope!r}.", required_scope=scope
            )


def principal() -> Principal:
    """The caller of the current request."""
    return cast(Principal, g.principal)  # flask's g holds what authenticate() stored


def mint_token(
    secret: str, subject: str, tenant: str, scopes: str = ALL_SCOPES, ttl_seconds: int = 12 * 3600
) -> str:
    """A development token (HS256)."""
    now = int(time.time())
    claims = {
        "sub": subject,
        "tenant": tenant,
        "scope": scopes,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def minting_secret(secret: str, environment: str) -> str:
    """The HS256 secret to mint with; never the development one in production."""
    if secret == DEVELOPMENT_SECRET and environment == PRODUCTION:
        raise SystemExit(
            "WAYPOINT_ENV=production: refusing to mint a token with the development secret; "
            "set WAYPOINT_JWT_SECRET (or WAYPOINT_ENV=development on a laptop)."
        )
    return secret


def token_cli(argv: list[str] | None = None) -> None:
    """`waypoint-token`: print a development token (refused in production without a secret)."""
    parser = argparse.ArgumentParser(description="Mint a development JWT for Waypoint.")
    parser.add_argument("--sub", default="dev-platform")
    parser.add_argument("--tenant", default="dev-clinic")
    parser.add_argument("--scope", default=ALL_SCOPES)
    parser.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    secret = minting_secret(*minting_secret_and_environment())
    print(mint_token(secret, args.sub, args.tenant, args.scope, args.ttl))
