"""WAYPOINT_ENV: production (the default) refuses development, weak or missing secrets and a
missing public URL at start, naming the variable; development accepts the published defaults."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from waypoint_shared.config import (
    DEVELOPMENT_MASTER_KEY,
    DEVELOPMENT_SECRET,
    UnsafeConfiguration,
    load_settings,
    process_settings,
)


def a_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def production(**overrides: str) -> dict[str, str]:
    """A production environment for goals with everything set; overrides may blank a value."""
    env = {
        "WAYPOINT_ENV": "production",
        "WAYPOINT_JWT_SECRET": "s" * 32,
        "GOALS_MASTER_KEY": a_key(),
        "GOALS_PUBLIC_URL": "https://goals.clinic.example",
        "INTAKE_PUBLIC_URL": "https://intake.clinic.example",
        "PROGRESS_PUBLIC_URL": "https://progress.clinic.example",
        **overrides,
    }
    return {k: v for k, v in env.items() if v}


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(UnsafeConfiguration) as refused:
        process_settings("goals", env)
    return str(refused.value)


@pytest.fixture(autouse=True)
def _var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # load_settings makes the default var/ directory


def test_production_with_its_own_secrets_starts() -> None:
    settings = process_settings("goals", production())
    assert (settings.environment, settings.public_url) == (
        "production",
        "https://goals.clinic.example",
    )


def test_production_is_the_default_when_waypoint_env_is_unset() -> None:
    env = production(WAYPOINT_ENV="")
    assert load_settings("goals", env).environment == "production"
    assert "WAYPOINT_JWT_SECRET" in refusal({**env, "WAYPOINT_JWT_SECRET": DEVELOPMENT_SECRET})


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("WAYPOINT_JWT_SECRET", "", "WAYPOINT_JWT_SECRET is not set"),
        ("WAYPOINT_JWT_SECRET", DEVELOPMENT_SECRET, "WAYPOINT_JWT_SECRET is not set or holds"),
        ("WAYPOINT_JWT_SECRET", "s" * 31, "WAYPOINT_JWT_SECRET is shorter than 32 bytes"),
        ("GOALS_MASTER_KEY", "", "GOALS_MASTER_KEY is not set"),
        ("GOALS_MASTER_KEY", DEVELOPMENT_MASTER_KEY, "GOALS_MASTER_KEY holds the development"),
        ("GOALS_MASTER_KEY", "c2hvcnQ=", "GOALS_MASTER_KEY must be 32 bytes"),
        ("GOALS_PUBLIC_URL", "", "GOALS_PUBLIC_URL must be"),
        ("GOALS_PUBLIC_URL", "goals.clinic.example", "GOALS_PUBLIC_URL must be"),
        ("INTAKE_PUBLIC_URL", "", "INTAKE_PUBLIC_URL must be"),
        ("PROGRESS_PUBLIC_URL", "ftp://progress.clinic.example", "PROGRESS_PUBLIC_URL must be"),
    ],
)
def test_production_refuses_a_missing_development_or_weak_value_naming_it(
    variable: str, value: str, said: str
) -> None:
    assert said in refusal(production(**{variable: value}))


def test_in_production_the_shared_master_key_is_not_enough() -> None:
    env = production(GOALS_MASTER_KEY="", WAYPOINT_MASTER_KEY=a_key())
    assert "GOALS_MASTER_KEY is not set" in refusal(env)


def test_a_development_key_may_stay_listed_as_the_old_one_during_a_rotation() -> None:
    process_settings("goals", production(GOALS_MASTER_KEY=f"{a_key()},{DEVELOPMENT_MASTER_KEY}"))


def test_an_rs256_public_key_needs_no_secret() -> None:
    process_settings(
        "goals", production(WAYPOINT_JWT_SECRET="", WAYPOINT_JWT_PUBLIC_KEY="-----BEGIN ...")
    )


def test_development_accepts_the_published_defaults() -> None:
    settings = process_settings("goals", {"WAYPOINT_ENV": "development"})
    assert (settings.jwt_secret, settings.master_key) == (
        DEVELOPMENT_SECRET,
        DEVELOPMENT_MASTER_KEY,
    )
    assert settings.public_url == "http://127.0.0.1:8002"


def test_an_unknown_environment_is_refused_naming_the_variable() -> None:
    with pytest.raises(UnsafeConfiguration, match="WAYPOINT_ENV"):
        load_settings("goals", {"WAYPOINT_ENV": "staging"})


def test_references_to_other_bases_are_built_from_their_public_urls() -> None:
    settings = load_settings("goals", production())
    assert settings.patient_base == "https://intake.clinic.example"
    assert settings.public_url_of("progress") == "https://progress.clinic.example"
    assert settings.public_url_of("goals") == settings.public_url


def test_in_development_the_patient_base_is_intake_on_its_default_port() -> None:
    settings = load_settings("progress", {"WAYPOINT_ENV": "development"})
    assert settings.patient_base == "http://127.0.0.1:8001"


def test_in_development_another_base_is_on_that_services_own_web_port() -> None:
    env = {"WAYPOINT_ENV": "development", "INTAKE_WEB_PORT": "18001"}
    assert load_settings("goals", env).patient_base == "http://127.0.0.1:18001"
