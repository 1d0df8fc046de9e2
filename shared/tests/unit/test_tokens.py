"""Bearer tokens: only a well-signed, current token for Waypoint that names a tenant gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import ALL_SCOPES, Principal, TokenVerifier, mint_token, token_cli
from waypoint_shared.http.problems import Problem

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123"


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "clinic-platform",
        "tenant": "clinic-a",
        "scope": "intake:read goals:write",
        "aud": "waypoint",
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def refused(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    return caught.value


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem.decode()


def test_a_valid_hs256_token_names_the_caller_tenant_and_scopes() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")

    assert TokenVerifier(secret=SECRET).verify(token) == Principal(
        "clinic-platform", "clinic-a", frozenset({"intake:read", "goals:write"})
    )


def test_a_token_without_scopes_gets_in_with_no_scopes() -> None:
    token = jwt.encode(claims(scope=None), SECRET, algorithm="HS256")

    assert TokenVerifier(secret=SECRET).verify(token).scopes == frozenset()


def test_an_expired_token_is_refused() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 60), SECRET, algorithm="HS256")

    problem = refused(TokenVerifier(secret=SECRET), token)

    assert "invalid_token" in problem.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-suite"},
        {"aud": None},
        {"exp": None},
        {"sub": None},
        {"tenant": None},
        {"tenant": ""},
        {"tenant": ["clinic-a", "clinic-b"]},
    ],
    ids=[
        "wrong audience",
        "no audience",
        "no expiry",
        "no subject",
        "missing tenant",
        "empty tenant",
        "tenant list",
    ],
)
def test_a_token_with_wrong_or_missing_claims_is_refused(changes: dict[str, Any]) -> None:
    refused(TokenVerifier(secret=SECRET), jwt.encode(claims(**changes), SECRET, algorithm="HS256"))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = jwt.encode(claims(), "another-secret-that-is-long-enough-for-hs256-xyz", "HS256")

    refused(TokenVerifier(secret=SECRET), token)


def test_an_unsigned_alg_none_token_is_refused() -> None:
    token = jwt.encode(claims(), "", algorithm="none")

    refused(TokenVerifier(secret=SECRET), token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "....", "Bearer x"])
def test_garbage_instead_of_a_token_is_refused(token: str) -> None:
    refused(TokenVerifier(secret=SECRET), token)


def test_an_rs256_token_is_refused_by_a_verifier_configured_for_hs256(
    rsa_keys: tuple[bytes, str],
) -> None:
    private_pem, _ = rsa_keys
    token = jwt.encode(claims(), private_pem, algorithm="RS256")

    refused(TokenVerifier(secret=SECRET), token)


def test_an_rs256_verifier_accepts_its_own_keys_tokens(rsa_keys: tuple[bytes, str]) -> None:
    private_pem, public_pem = rsa_keys
    token = jwt.encode(claims(), private_pem, algorithm="RS256")

    assert TokenVerifier(public_key=public_pem).verify(token).tenant == "clinic-a"


def test_an_hs256_token_keyed_with_the_public_key_is_refused_by_an_rs256_verifier(
    rsa_keys: tuple[bytes, str],
) -> None:
    _, public_pem = rsa_keys

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(json.dumps(claims()).encode())
    signature = hmac.new(public_pem.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + b64(signature)).decode()

    refused(TokenVerifier(public_key=public_pem), forged)


def test_a_verifier_needs_a_secret_or_a_public_key() -> None:
    with pytest.raises(ValueError):
        TokenVerifier()


def test_a_minted_development_token_is_accepted_with_every_scope() -> None:
    token = mint_token(DEVELOPMENT_SECRET, "dev-platform", "dev-clinic")

    found = TokenVerifier(secret=DEVELOPMENT_SECRET).verify(token)

    assert found.tenant == "dev-clinic"
    assert found.scopes == frozenset(ALL_SCOPES.split())


def test_a_minted_token_expires_after_its_ttl() -> None:
    token = mint_token(DEVELOPMENT_SECRET, "dev-platform", "dev-clinic", ttl_seconds=-1)

    refused(TokenVerifier(secret=DEVELOPMENT_SECRET), token)


def test_the_token_cli_prints_a_token_for_the_asked_tenant_and_scopes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAYPOINT_JWT_SECRET", raising=False)

    token_cli(["--sub", "ehr", "--tenant", "north-clinic", "--scope", "progress:read"])

    printed = capsys.readouterr().out.strip()
    assert TokenVerifier(secret=DEVELOPMENT_SECRET).verify(printed) == Principal(
        "ehr", "north-clinic", frozenset({"progress:read"})
    )


def test_the_token_cli_signs_with_the_configured_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYPOINT_JWT_SECRET", SECRET)

    token_cli([])

    printed = capsys.readouterr().out.strip()
    assert TokenVerifier(secret=SECRET).verify(printed).tenant == "dev-clinic"
    refused(TokenVerifier(secret=DEVELOPMENT_SECRET), printed)


def test_a_verified_token_is_refused_once_it_expires() -> None:
    verifier = TokenVerifier(DEVELOPMENT_SECRET)
    expires = int(time.time()) + 1
    claims = {"sub": "ehr", "tenant": "clinic-a", "aud": "waypoint", "exp": expires}
    token = jwt.encode(claims, DEVELOPMENT_SECRET, algorithm="HS256")

    assert verifier.verify(token).tenant == "clinic-a"
    assert verifier.verify(token).tenant == "clinic-a"  # remembered
    time.sleep(max(0.0, expires - time.time()) + 0.05)

    with pytest.raises(Problem) as refused:
        verifier.verify(token)
    assert refused.value.status == 401
    assert "expired" in str(refused.value.detail)


def test_a_token_signed_otherwise_is_refused_even_after_a_valid_one() -> None:
    verifier = TokenVerifier(DEVELOPMENT_SECRET)
    claims = {"sub": "ehr", "tenant": "clinic-a", "aud": "waypoint", "exp": time.time() + 60}
    verifier.verify(jwt.encode(claims, DEVELOPMENT_SECRET, algorithm="HS256"))

    forged = jwt.encode(claims, "another-secret-of-enough-length-32b", algorithm="HS256")
    with pytest.raises(Problem):
        verifier.verify(forged)


def test_the_token_cli_refuses_the_development_secret_in_production(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAYPOINT_JWT_SECRET", raising=False)
    monkeypatch.setenv("WAYPOINT_ENV", "production")

    with pytest.raises(SystemExit, match="WAYPOINT_JWT_SECRET"):
        token_cli([])

    assert capsys.readouterr().out == ""


def test_the_token_cli_mints_in_production_with_the_configured_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYPOINT_JWT_SECRET", SECRET)
    monkeypatch.setenv("WAYPOINT_ENV", "production")

    token_cli([])

    assert TokenVerifier(secret=SECRET).verify(capsys.readouterr().out.strip())
