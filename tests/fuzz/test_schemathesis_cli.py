"""Schemathesis as an integrator runs it: its command line against each service of the running
suite (gunicorn, workers, Kafka), every one of its checks (`--checks all`: besides the
conformance of statuses, media types, headers and bodies, a schema-valid request must be
accepted, a schema-violating one refused, an undeclared method answered 405 with `Allow`, a
missing required header or credential refused), over all its phases (examples, coverage,
fuzzing, stateful). Seeded, so a failure reproduces with the command it prints. The
repository's schemathesis.toml states only what the documents cannot (ADR 0017).

The runs start in the background with the first test of this folder and go on while the others
run (conftest.py); each test here waits for its service's run."""

from __future__ import annotations

import pytest

from waypoint_shared.config import SERVICES

from .conftest import EXAMPLES, RUN_TIMEOUT, Background

# Each test may wait for the runs before its own as well: the guard covers all three.
pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(3 * RUN_TIMEOUT + 60)]


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_with_every_check_finds_nothing(
    service: str, schemathesis_in_background: Background
) -> None:
    ran = schemathesis_in_background.runs[service].result()
    print(ran.output)
    assert ran.returncode == 0, (
        f"{service}: Schemathesis found failures at {EXAMPLES} examples an operation\n"
        f"{ran.output[-20_000:]}"
    )
