"""Schemathesis's command line (test_schemathesis_cli.py) runs against a suite of real processes
for minutes and keeps about one core busy, and so does the in-process fuzzing before it. So when
the command-line tests are part of the session, their runs start with the first test of this
folder, one service after another, in the background: they go on while the other tests here run,
and each command-line test waits for its own service's run and reports it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from waypoint_devkit.suite import own_suite, url_of
from waypoint_shared.config import DEVELOPMENT_SECRET, SERVICES
from waypoint_shared.http.auth import ALL_SCOPES, mint_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation; `make faults`: 150
# A guard against a hang: on a slow 2-core host intake took 193 s at 10 examples alone, 238 s at
# 30; its coverage and stateful phases do not depend on the number.
RUN_TIMEOUT = 180 + 15 * EXAMPLES
SCHEMATHESIS = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).parents[2] / "schemathesis.toml"  # what the documents cannot state
TOKEN = mint_token(DEVELOPMENT_SECRET, "test-platform", "clinic-schemathesis", ALL_SCOPES)


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str


@dataclass
class Background:
    """The command-line runs, one at a time on a thread of their own."""

    suite: Any
    log_dir: Path
    runs: dict[str, Future[Ran]] = field(default_factory=dict)
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, executor: ThreadPoolExecutor) -> None:
        for service in SERVICES:
            self.runs[service] = executor.submit(self._run, service)

    def _run(self, service: str) -> Ran:
        if self.stopping.is_set():
            return Ran(-1, "not run: the session ended first")
        log = self.log_dir / f"schemathesis-{service}.log"
        with log.open("wb") as out:  # a file, not a pipe nobody reads while it runs
            process = subprocess.Popen(
                command(url_of(self.suite, f"{service}-web")),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=CONFIG.parent,
            )
            self.running.append(process)
            if self.stopping.is_set():  # stop() came between the check above and the start
                process.kill()
            try:
                returncode = process.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return Ran(-1, f"timed out after {RUN_TIMEOUT} s:\n{_text(log)}")
        return Ran(returncode, _text(log))

    def stop(self) -> None:
        """Kill a run still going (the session ended, or a test failed before waiting)."""
        self.stopping.set()
        for process in self.running:
            if process.poll() is None:
                process.kill()


def command(openapi_base: str) -> list[str]:
    """Every check over all phases, seeded, so a failure reproduces with the command printed.
    Hypothesis's `too_slow` health check is left out: it times the drawing of cases in wall-clock
    time, and these runs share the cores with the tests beside them (checks of the API are not
    health checks: every one runs)."""
    return [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{openapi_base}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "1",
        "--no-color",
        "--suppress-health-check",
        "too_slow",
    ]


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


def _wanted(session: pytest.Session) -> bool:
    command_line_tests = Path(__file__).with_name("test_schemathesis_cli.py")
    return any(item.path == command_line_tests for item in session.items)


@pytest.fixture(scope="package", autouse=True)
def schemathesis_in_background(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Background | None]:
    """The command-line runs of the session, or None when it has no command-line test (the
    in-process tests alone need neither the broker nor the suite)."""
    if not _wanted(request.session):
        yield None
        return
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    # Far above the runs' pace, so every answer is the route's own and not the rate limit's.
    with (
        own_suite(tmp_path_factory, bootstrap, "st", rate_limit=100_000) as suite,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="schemathesis") as executor,
    ):
        background = Background(suite, tmp_path_factory.mktemp("schemathesis"))
        background.start(executor)
        try:
            yield background
        finally:
            background.stop()
