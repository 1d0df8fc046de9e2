"""Attack tests run against the real suite: gunicorn web processes and workers of all three
services, talking through a real Kafka broker. Two tenants: the clinic under attack (A) and an
integrator of another clinic (B) who holds a valid token of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every attack here runs against real processes and a real broker (`make test-fast` skips
    them): marks set in a conftest's `pytestmark` would not reach the tests."""
    for item in items:
        if "tests/security/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    # The attacks send hundreds of requests in a row: the rate limit is raised above that load (its
    # own tests run a suite with a low one), so every answer compared is the route's own.
    with own_suite(tmp_path_factory, kafka_bootstrap, "sec", rate_limit=5000) as running:
        yield running


@pytest.fixture
def clinic_a(token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('clinic-a')}"}


@pytest.fixture
def clinic_b(token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('clinic-b')}"}


def url(suite: Any, service: str, path: str) -> str:
    return f"{url_of(suite, f'{service}-web')}{path}"


def refer(suite: Any, headers: dict[str, str]) -> str:
    """A client of the caller's clinic, known to all three services once this returns."""
    body = {
        "given_name": "Amara",
        "family_name": "Osei",
        "date_of_birth": "1992-06-30",
        "referred_on": "2025-01-06",  # before any session date these tests post
    }
    referred = requests.post(url(suite, "intake", "/v1/clients"), json=body, headers=headers)
    assert referred.status_code == 201, referred.text
    client_id = str(referred.json()["client_id"])
    timeline = url(suite, "progress", f"/v1/clients/{client_id}/timeline")
    wait_until(
        lambda: requests.get(timeline, headers=headers).ok, what="the referral on the timeline"
    )
    return client_id
