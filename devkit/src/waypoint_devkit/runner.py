"""What the local Kafka and PostgreSQL runners share as commands: a stop on SIGINT or SIGTERM,
and a command line of two commands, one that prepares the server and `run`."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable


class StopRequest:
    """Set by SIGINT or SIGTERM once installed; `wait` returns then, or when the server dies."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._request)

    def _request(self, *_: object) -> None:
        self.requested = True

    def wait(self, alive: Callable[[], bool] = lambda: True) -> None:
        while not self.requested and alive():
            time.sleep(0.3)


def command_line(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    prepare: Callable[[argparse.Namespace], str],
    run: Callable[[argparse.Namespace], int],
    error: type[Exception],
) -> int:
    """Run the chosen command: `run`, or the other, which prepares and says what it did."""
    args = parser.parse_args(argv)
    try:
        if args.command != "run":
            print(prepare(args))
            return 0
        return run(args)
    except error as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
