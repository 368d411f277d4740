"""One typed registry class, used by every extension point (backends, tasks, graders, signals,
forecasters).

``Registry[T]`` maps names to objects of type ``T`` (usually a function type) and keeps that
type: ``register`` returns the decorated object unchanged, so ``EXTRAPOLATORS.get("proxy")`` is
typed as the extrapolator signature, not ``Callable[..., Any]``.

Three ways to register, so that importing a lower layer never imports a higher one:

- ``@REGISTRY.register("name")`` in the module that defines the object;
- ``REGISTRY.register_lazy("name", "package.module:object")``: resolved (imported) on first
  ``get`` only, as lm-eval's lazy registry does;
- *plug-in modules*: modules imported the first time the registry is asked for a name it does
  not hold, or for the full list. They come from the ``packages`` the registry was built with
  (every module of that package: adding a signal is one new file), from the ``lmforecast.plugins``
  entry-point group (the testbed registers its tasks and grader this way; so can any installed
  package) and from ``LMFORECAST_PLUGINS`` (comma-separated module names, for users' own code).

>>> r: Registry[int] = Registry("thing")
>>> r.register("one")(1)
1
>>> r.get("one")
1
>>> r.register_lazy("pi", "math:pi")
>>> round(r.get("pi"), 2)
3.14
>>> r.get("two")
Traceback (most recent call last):
...
lmforecast.core.errors.UserError: unknown thing 'two'; known: one, pi
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar, cast

from lmforecast.core.errors import UserError

T = TypeVar("T")
U = TypeVar("U")

PLUGIN_GROUP = "lmforecast.plugins"
PLUGIN_ENV = "LMFORECAST_PLUGINS"


def import_object(ref: str) -> object:
    """``"package.module:attr"`` -> the attribute; ``"package.module"`` -> the module.

    >>> import_object("math:sqrt")(16.0)
    4.0
    """
    module_name, _, attr = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


_LOADED_PLUGINS: set[str] = set()


def load_plugins() -> None:
    """Import every plug-in module named by the entry points and ``LMFORECAST_PLUGINS`` (once)."""
    refs = [ep.value for ep in entry_points(group=PLUGIN_GROUP)]
    refs += [m.strip() for m in os.environ.get(PLUGIN_ENV, "").split(",") if m.strip()]
    for ref in refs:
        if ref not in _LOADED_PLUGINS:
            _LOADED_PLUGINS.add(ref)
            try:
                import_object(ref)
            except ImportError as e:
                _LOADED_PLUGINS.discard(ref)
                raise UserError(f"plug-in {ref!r} cannot be imported ({e})") from None


def _import_package_modules(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


class Registry(Generic[T]):
    """Maps names to objects; unknown names give a one-line error with close matches."""

    def __init__(
        self,
        kind: str,
        error: type[UserError] = UserError,
        packages: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self._error = error
        self._packages = packages
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._discovered = False

    def register(self, name: str) -> Callable[[U], U]:
        """Decorator: register the object under ``name`` and return it unchanged (typed)."""

        def decorator(obj: U) -> U:
            if name in self._items or name in self._lazy:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = cast(T, obj)
            return obj

        return decorator

    def register_lazy(self, name: str, ref: str) -> None:
        """Register ``"module:object"``, imported on the first :meth:`get` of ``name``."""
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._lazy[name] = ref

    def discover(self) -> None:
        """Import the registry's packages and the plug-ins (once; later calls are free)."""
        if self._discovered:
            return
        self._discovered = True
        for package in self._packages:
            _import_package_modules(package)
        load_plugins()

    def get(self, name: str) -> T:
        if name not in self._items and name not in self._lazy:
            self.discover()
        if name in self._lazy:
            self._items[name] = cast(T, import_object(self._lazy.pop(name)))
        try:
            return self._items[name]
        except KeyError:
            names = self.names()
            close = difflib.get_close_matches(name, names, n=3)
            hint = (
                f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(names)}"
            )
            raise self._error(f"unknown {self.kind} {name!r}{hint}") from None

    def __contains__(self, name: object) -> bool:
        if name not in self._items and name not in self._lazy:
            self.discover()
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        """Every registered name, plug-ins included."""
        self.discover()
        return sorted([*self._items, *self._lazy])
