"""Items made in a thread of their own, a few ahead of the one being used.

A rebuild's facts pass fetches records from Kafka and decodes them, then writes each chunk in a
transaction that waits on the disk (fsync) and on SQLite's one writer at a time; made ahead, the
next chunk is fetched and decoded during that wait. At most `depth` items wait in between, so
memory stays flat; an error of the maker is raised to the user, and a user that stops early stops
the maker.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()


@dataclass(frozen=True)
class _Raised:
    error: BaseException


def read_ahead(items: Iterator[T], depth: int) -> Iterator[T]:
    """The items, in order, made up to `depth` ahead in a thread."""
    ahead: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()
    maker = threading.Thread(target=_make, args=(items, ahead, stop), daemon=True)
    maker.start()
    try:
        while (item := ahead.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        maker.join()


def _make(items: Iterator[Any], ahead: queue.Queue[Any], stop: threading.Event) -> None:
    try:
        for item in items:
            if not _offer(ahead, item, stop):
                return
        _offer(ahead, _END, stop)
    except BaseException as error:  # handed to the user, which raises it
        _offer(ahead, _Raised(error), stop)


def _offer(ahead: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put the item in line unless the user has stopped; whether it was put."""
    while not stop.is_set():
        try:
            ahead.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
