"""Waiting for eventually-consistent things, running worker loops inside a test, and telling
whether a process is still alive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from waypoint_shared.messaging.worker import Loop

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll until probe() returns something truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextmanager
def running(loops: Sequence[Loop]) -> Iterator[threading.Event]:
    """Run worker loops in threads for the duration of a with-block, then stop them."""
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), name=loop.name) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def is_alive(pid: int) -> bool:
    """Whether a process is running: a zombie left for its parent to reap is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
