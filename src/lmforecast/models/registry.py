"""Model backends and built-in aliases.

A backend is a function ``(spec, options) -> LoadedModel``; an alias is a function that returns
the spec (a local path) of a model shipped in an installed package.
"""

from __future__ import annotations

from collections.abc import Callable

from lmforecast.core.errors import ModelLoadError
from lmforecast.core.registry import Registry
from lmforecast.models.base import LoadedModel

Backend = Callable[..., LoadedModel]
AliasResolver = Callable[[], str]

BACKENDS: Registry[Backend] = Registry("model backend", ModelLoadError)
ALIASES: Registry[AliasResolver] = Registry("model alias", ModelLoadError)
