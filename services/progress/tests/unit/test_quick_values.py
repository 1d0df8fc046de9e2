"""Values filled quickly (`quick_init`) behave exactly as the frozen dataclasses they are, and a
value computed once (`computed_once`) is computed on first read only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from waypoint_progress.domain.sources import SourceEvent
from waypoint_progress.domain.timeline import Entry, entries_for
from waypoint_progress.domain.values import computed_once, quick_init

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CHECKED: list[str] = []  # the names __post_init__ saw, in order


@dataclass(frozen=True)
class Plain:
    name: str
    count: int
    notes: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    def __post_init__(self) -> None:
        CHECKED.append(self.name)


@quick_init
@dataclass(frozen=True)
class Quick(Plain):
    """Plain's fields, defaults and `__post_init__`, filled quickly."""


def test_a_quick_value_has_an_init_of_its_own() -> None:
    assert Quick.__init__ is not Plain.__init__
    assert Quick.__init__.__qualname__ == "Quick.__init__"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("a", 1), {}),
        (("a", 1, {"x": 1}), {}),
        (("a",), {"count": 2, "label": "b"}),
        ((), {"name": "a", "count": 3, "notes": {}, "label": None}),
    ],
)
def test_a_quick_value_is_made_from_the_same_arguments_as_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    CHECKED.clear()
    quick, plain = Quick(*args, **kwargs), Plain(*args, **kwargs)
    assert dataclasses.asdict(quick) == dataclasses.asdict(plain)
    assert repr(quick).removeprefix("Quick") == repr(plain).removeprefix("Plain")
    assert CHECKED == ["a", "a"]  # __post_init__ ran for both


def test_a_quick_value_is_still_frozen_equal_and_hashable_by_its_fields() -> None:
    value = Quick("a", 1, label="b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.count = 2  # type: ignore[misc]
    assert value == Quick("a", 1, {}, "b")
    assert value != Quick("a", 2, label="b")
    assert hash(Quick("a", 1, None, "b")) == hash(Quick("a", 1, None, "b"))  # type: ignore[arg-type]


def test_each_quick_value_gets_a_default_of_its_own_from_the_factory() -> None:
    first, second = Quick("a", 1), Quick("b", 2)
    first.notes["x"] = 1
    assert second.notes == {}


def test_a_quick_value_refuses_what_the_dataclass_refuses() -> None:
    with pytest.raises(TypeError):
        Quick("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("a", 1, unknown=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("a", 1, {}, None, "too many")  # type: ignore[call-arg]


def test_only_a_frozen_dataclass_of_plain_fields_is_filled_quickly() -> None:
    @dataclass
    class Thawed:
        name: str

    @dataclass(frozen=True, slots=True)
    class Slotted:
        name: str

    @dataclass(frozen=True)
    class KeywordOnly:
        name: str = field(kw_only=True)

    @dataclass(frozen=True)
    class Computed:
        name: str
        size: int = field(init=False, default=0)

    for cls in (Thawed, Slotted, KeywordOnly, Computed):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_a_source_event_recorded_when_it_happened_says_so_and_heads_its_timeline() -> None:
    event = SourceEvent("e-1", "intake", "client_referred", "t-1", "c-1", AT, 1)
    assert event.recorded_at == AT and event.facts == {}
    entry = entries_for(event)[0]
    assert isinstance(entry, Entry)
    assert (entry.id, entry.kind, entry.occurred_at, entry.source) == ("e-1", "event", AT, event)
    assert entry.sort_key.startswith(event.order_key)


@quick_init
@dataclass(frozen=True)
class Keyed:
    name: str
    computed: list[str] = field(default_factory=list, compare=False)

    @computed_once
    def key(self) -> str:
        """The name, upper case."""
        self.computed.append(self.name)
        return self.name.upper()


def test_a_value_computed_once_is_computed_on_first_read_and_then_kept() -> None:
    value = Keyed("amara")
    assert value.computed == []
    assert (value.key, value.key) == ("AMARA", "AMARA")
    assert value.computed == ["amara"]
    assert value.__dict__["key"] == "AMARA"


def test_a_value_computed_once_leaves_the_frozen_value_as_it_was() -> None:
    value, twin = Keyed("amara"), Keyed("amara")
    assert value.key == "AMARA"
    assert value == twin and hash(value) == hash(twin)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.name = "osei"  # type: ignore[misc]
    assert isinstance(Keyed.key, computed_once) and Keyed.key.__doc__ == "The name, upper case."
