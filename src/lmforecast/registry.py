"""One small registry class, used by every extension point (backends, tasks, signals, forecasters).

Adding a new task or signal means writing one file that decorates a factory with
``@REGISTRY.register("name")``; the registry's module imports the built-in plug-ins once.

>>> r: Registry[int] = Registry("thing")
>>> @r.register("one")
... def make_one() -> int:
...     return 1
>>> r.get("one")()
1
>>> r.get("two")
Traceback (most recent call last):
...
lmforecast.errors.UserError: unknown thing 'two'; known: one
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from lmforecast.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; unknown names give a one-line error with close matches."""

    def __init__(self, kind: str, error: type[UserError] = UserError) -> None:
        self.kind = kind
        self._error = error
        self._items: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = ", ".join(sorted(self._items)) if not close else ""
            raise self._error(
                f"unknown {self.kind} {name!r}" + (hint or f"; known: {known}")
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        return sorted(self._items)
