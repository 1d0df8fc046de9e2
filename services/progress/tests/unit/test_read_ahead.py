"""Items made ahead in a thread come in order, bounded; the maker's error reaches the user, and a
user that stops early stops the maker."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from waypoint_progress.service_layer.read_ahead import read_ahead


def test_the_items_come_in_order_and_the_maker_runs_at_most_depth_ahead() -> None:
    made: list[int] = []

    def counted() -> Iterator[int]:
        for n in range(100):
            made.append(n)
            yield n

    seen = []
    for n in read_ahead(counted(), 2):
        seen.append(n)
        assert len(made) <= n + 1 + 2 + 1  # the one in hand, two in line, one being offered
    assert seen == list(range(100))


def test_an_error_of_the_maker_is_raised_to_the_user_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("broken record")

    seen = []
    with pytest.raises(ValueError, match="broken record"):
        for n in read_ahead(failing(), 3):
            seen.append(n)
    assert seen == [1]


def test_a_user_that_stops_early_stops_the_maker() -> None:
    endless = itertools.count()
    ahead = read_ahead(endless, 2)
    assert next(ahead) == 0
    ahead.close()  # the maker's thread is joined
    assert next(endless) <= 5
