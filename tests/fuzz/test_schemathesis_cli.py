"""Schemathesis as an integrator runs it: its command line against each service of the running
suite (gunicorn, workers, Kafka), every one of its checks (`--checks all`: besides the
conformance of statuses, media types, headers and bodies, a schema-valid request must be
accepted, a schema-violating one refused, an undeclared method answered 405 with `Allow`, a
missing required header or credential refused), over all its phases (examples, coverage,
fuzzing, stateful). Seeded, so a failure reproduces with the command it prints. The
repository's schemathesis.toml states only what the documents cannot (ADR 0017)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from waypoint_devkit.suite import own_suite, url_of

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation; `make faults`: 150
# A guard against a hang: on a slow 2-core host intake took 193 s at 10 examples, 238 s at 30; its
# coverage and stateful phases do not depend on the number.
pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(240 + 15 * EXAMPLES)]
SCHEMATHESIS = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).parents[2] / "schemathesis.toml"  # what the documents cannot state


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    # Far above the run's pace, so every answer is the route's own and not the rate limit's.
    with own_suite(tmp_path_factory, kafka_bootstrap, "st", rate_limit=100_000) as running:
        yield running


@pytest.mark.parametrize("service", ["intake", "goals", "progress"])
def test_schemathesis_with_every_check_finds_nothing(
    service: str, suite: Any, token: Callable[..., str]
) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url_of(suite, f'{service}-web')}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token('clinic-schemathesis')}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "1",
        "--no-color",
    ]
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=180 + 15 * EXAMPLES, cwd=CONFIG.parent
    )
    print(ran.stdout, ran.stderr)
    assert ran.returncode == 0, f"{service}: Schemathesis found failures\n{ran.stdout[-20_000:]}"
