"""Frozen dataclasses filled quickly: `quick_init` gives one an `__init__` that writes the
fields straight into the new instance's `__dict__`.

A frozen dataclass's own `__init__` sets each field through `object.__setattr__`, a call per
field: nine fields cost 3.0 µs on the slower benchmark host, and 0.9 µs written this way. The
projector and the rebuild make several such values for every event (its source event, its
timeline entries, the milestones they owe). The class stays the frozen dataclass it was: its
fields, defaults, equality, hashing, `repr` and `FrozenInstanceError` on assignment are the
dataclass's, and so is the signature type checkers see; only how a new instance is filled
changes. Like `dataclasses`, the `__init__` is generated from the fields, once per class.

`computed_once` is `functools.cached_property` without its lock: Python 3.11's takes an `RLock`
on every first read, which cost as much as the key it kept (a timeline entry's sort key). These
values are made and read by one thread, and a value computed twice by two would be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
V = TypeVar("V")


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's `__init__` with one that fills `__dict__` directly (the
    same parameters, defaults and default factories, then `__post_init__` if it has one)."""
    _refuse_unsupported(cls)
    namespace: dict[str, Any] = {"_MISSING": MISSING}
    parameters, body = [], []
    declared = fields(cls)  # type: ignore[arg-type]
    for field in declared:
        name = field.name
        if field.default is not MISSING:
            namespace[f"_default_{name}"] = field.default
            parameters.append(f"{name}=_default_{name}")
        elif field.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            parameters.append(f"{name}=_MISSING")
            body.append(f"if {name} is _MISSING: {name} = _factory_{name}()")
        else:
            parameters.append(name)
    body.append("filled = self.__dict__")
    body += [f"filled[{field.name!r}] = {field.name}" for field in declared]
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n    " + "\n    ".join(body)
    exec(source, namespace)  # the dataclasses module makes its __init__ the same way
    namespace["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = namespace["__init__"]  # type: ignore[method-assign]
    return cls


def _refuse_unsupported(cls: type) -> None:
    """Only what the generated `__init__` reproduces exactly: a frozen dataclass with a
    `__dict__`, every field an ordinary positional parameter."""
    params = getattr(cls, "__dataclass_params__", None)
    if not is_dataclass(cls) or params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} has slots, and no __dict__ to fill")
    declared = cls.__dataclass_fields__.values()
    if len(declared) != len(fields(cls)):
        raise TypeError(f"{cls.__name__} has class or init-only variables")
    for field in fields(cls):
        if not field.init or field.kw_only or field.name in ("self", "filled"):
            raise TypeError(f"{cls.__name__}.{field.name} is not a plain positional field")


class computed_once(Generic[V]):  # named like the `cached_property` it stands for
    """A property computed on first read and kept in the instance's `__dict__`, where later
    reads find it without calling anything (a frozen dataclass's fields are not touched)."""

    def __init__(self, compute: Callable[[Any], V]):
        self.compute, self.name = compute, compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> computed_once[V]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> V: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value
