"""Model backends and built-in aliases.

A backend is a function ``(spec, options) -> LoadedModel``; an alias is a function that returns
the spec (a local path) of a model shipped in an installed package.
"""

from __future__ import annotations

from collections.abc import Callable

from lmforecast.errors import ModelLoadError
from lmforecast.models.base import LoadedModel
from lmforecast.registry import Registry

BACKENDS: Registry[LoadedModel] = Registry("model backend", ModelLoadError)
ALIASES: Registry[str] = Registry("model alias", ModelLoadError)

AliasResolver = Callable[[], str]
