"""The test suite's own PostgreSQL server stops when its tests end, even when another pytest
session of the same user has started meanwhile and closed the temp folders to other users again,
the server's user among them."""

from __future__ import annotations

import os
import signal
import stat

import pytest

from waypoint_devkit.infrastructure import local_postgres
from waypoint_devkit.waiting import is_alive

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def test_a_server_stops_after_another_pytest_session_closed_the_temp_root_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = local_postgres(tmp_path_factory.mktemp("closed")).start()
    postmaster = int((server.pgdata / "postmaster.pid").read_text().split()[0])
    temp_root = tmp_path_factory.getbasetemp().parent  # /tmp/pytest-of-<user>
    mode = stat.S_IMODE(temp_root.stat().st_mode)
    try:
        temp_root.chmod(mode & 0o700)  # what a pytest session starting now does to it

        server.stop()

        assert not is_alive(postmaster), "the server outlived stop()"
    finally:
        temp_root.chmod(mode)
        if is_alive(postmaster):  # a failed stop must not leak the server; a stopped one's pid
            os.kill(postmaster, signal.SIGQUIT)  # may already name another process
