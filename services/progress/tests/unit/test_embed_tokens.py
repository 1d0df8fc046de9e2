"""The rules of embed grants and their tokens, and the frame-ancestors setting of the page."""

from __future__ import annotations

import base64
import os
import time
import uuid
from typing import Any

import jwt
import pytest

from waypoint_progress import config
from waypoint_progress.domain import embed
from waypoint_progress.domain.embed import EmbedGrant
from waypoint_progress.entrypoints.embed import tokens
from waypoint_shared.config import DEVELOPMENT_MASTER_KEY, DEVELOPMENT_SECRET, load_settings
from waypoint_shared.http.auth import mint_token

CLIENT = str(uuid.uuid4())
KEYS = tokens.signing_keys(DEVELOPMENT_MASTER_KEY)
ENTRIES = [{"kind": "event"}, {"kind": "milestone"}, {"kind": "alert"}]


def a_grant(view: str = "client", ttl: int = 300) -> EmbedGrant:
    return embed.grant("clinic-a", CLIENT, "ehr", view, ttl, time.time())


def test_a_grant_lives_its_ttl_within_the_bounds() -> None:
    now = time.time()
    assert embed.grant("t", CLIENT, "ehr", "client", 900, now).expires_at == int(now) + 900
    for ttl in (embed.MIN_TTL - 1, embed.MAX_TTL + 1, 0, -5):
        with pytest.raises(ValueError, match="ttl_seconds"):
            embed.grant("t", CLIENT, "ehr", "client", ttl, now)


def test_a_grant_is_for_a_client_or_a_clinician_view_only() -> None:
    with pytest.raises(ValueError, match="view"):
        a_grant("therapist")


def test_a_client_sees_milestones_and_a_clinician_alerts_too() -> None:
    assert [e["kind"] for e in a_grant("client").shown(ENTRIES)] == ["milestone"]
    assert [e["kind"] for e in a_grant("clinician").shown(ENTRIES)] == ["milestone", "alert"]


def test_a_grant_admits_its_own_client_only() -> None:
    assert a_grant().admits(CLIENT)
    assert not a_grant().admits(str(uuid.uuid4()))


def test_a_token_carries_its_grant() -> None:
    granted = a_grant("clinician")
    assert tokens.verify(tokens.mint(granted, KEYS), KEYS) == granted


def test_a_token_minted_before_a_master_key_rotation_still_opens_the_page() -> None:
    new = base64.b64encode(os.urandom(32)).decode()
    before = tokens.mint(a_grant(), tokens.signing_keys(DEVELOPMENT_MASTER_KEY))
    rotated = tokens.signing_keys(f"{new},{DEVELOPMENT_MASTER_KEY}")
    assert tokens.verify(before, rotated).client_id == CLIENT
    with pytest.raises(tokens.EmbedTokenRefused, match="signature"):
        tokens.verify(before, tokens.signing_keys(new))


def test_the_signing_key_is_not_the_master_key_nor_the_api_secret() -> None:
    assert KEYS[0] not in (base64.b64decode(DEVELOPMENT_MASTER_KEY), DEVELOPMENT_SECRET.encode())


def test_an_expired_token_is_refused_as_expired() -> None:
    expired = EmbedGrant("clinic-a", CLIENT, "client", "ehr", int(time.time()) - 1)
    with pytest.raises(tokens.EmbedTokenRefused, match="expired"):
        tokens.verify(tokens.mint(expired, KEYS), KEYS)


def test_an_api_token_is_not_an_embed_token() -> None:
    with pytest.raises(tokens.EmbedTokenRefused, match="not an embed token"):
        tokens.verify(mint_token(DEVELOPMENT_SECRET, "ehr", "clinic-a"), KEYS)


def test_a_token_of_the_embed_type_for_another_audience_is_refused() -> None:
    claims: dict[str, Any] = {"aud": "waypoint", "iss": tokens.ISSUER, "sub": "ehr"}
    claims |= {"tenant": "clinic-a"}
    claims |= {"client": CLIENT, "view": "client", "iat": 0, "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, KEYS[0], algorithm="HS256", headers={"typ": tokens.TYPE})
    with pytest.raises(tokens.EmbedTokenRefused, match=r"(?i)audience"):
        tokens.verify(forged, KEYS)


def test_a_token_changed_after_minting_is_refused() -> None:
    header, _, signature = tokens.mint(a_grant(), KEYS).split(".")
    claims = base64.urlsafe_b64encode(b'{"client":"' + str(uuid.uuid4()).encode() + b'"}')
    with pytest.raises(tokens.EmbedTokenRefused):
        tokens.verify(f"{header}.{claims.decode().rstrip('=')}.{signature}", KEYS)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 400])
def test_a_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(tokens.EmbedTokenRefused):
        tokens.verify(token, KEYS)


def test_a_token_without_a_view_or_client_is_refused() -> None:
    claims: dict[str, Any] = {"aud": tokens.AUDIENCE, "iss": tokens.ISSUER, "sub": "ehr"}
    claims |= {"tenant": "clinic-a"}
    claims |= {"iat": 0, "exp": int(time.time()) + 60, "client": "not-a-uuid", "view": "client"}
    for broken in (
        {**claims, "view": "admin"},
        {**claims},
        {k: claims[k] for k in claims if k != "view"},
    ):
        token = jwt.encode(broken, KEYS[0], algorithm="HS256", headers={"typ": tokens.TYPE})
        with pytest.raises(tokens.EmbedTokenRefused):
            tokens.verify(token, KEYS)


@pytest.mark.parametrize(
    ("environment", "value", "expected"),
    [
        ("production", None, "'none'"),
        ("development", None, config.DEVELOPMENT_FRAME_ANCESTORS),
        ("production", "https://app.clinic.example  'self'", "https://app.clinic.example 'self'"),
        ("production", "https://*.clinic.example:8443", "https://*.clinic.example:8443"),
    ],
)
def test_frame_ancestors_are_the_deployments(
    environment: str, value: str | None, expected: str
) -> None:
    env = {"WAYPOINT_ENV": environment}
    if value is not None:
        env["PROGRESS_EMBED_FRAME_ANCESTORS"] = value
    assert config.embed_frame_ancestors(load_settings("progress", env)) == expected


@pytest.mark.parametrize(
    "value", ["", "https://a.example; script-src *", "'none' https://a.example", "'unsafe-inline'"]
)
def test_a_malformed_frame_ancestors_setting_is_refused(value: str) -> None:
    env = {"WAYPOINT_ENV": "development", "PROGRESS_EMBED_FRAME_ANCESTORS": value}
    with pytest.raises(ValueError, match="PROGRESS_EMBED_FRAME_ANCESTORS"):
        config.embed_frame_ancestors(load_settings("progress", env))
