"""Experiments: one package per published method, composing tasks, signals, truth and forecasts.

Each package registers an :class:`Experiment` in :data:`EXPERIMENTS` (found on first lookup), so
``lmforecast.api.experiment("patel", preset="ci")`` and the CLI run any of them alike, and every
result round-trips through JSON (``to_dict`` / ``from_dict``) for reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmforecast.core.registry import Registry


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its config type, its runner and its result type."""

    name: str
    config: Callable[..., Any]
    run: Callable[..., Any]  # run(config, store=None, progress=None) -> result
    result: Any  # the result class (with from_dict)
    description: str


EXPERIMENTS: Registry[Experiment] = Registry("experiment", packages=("lmforecast.experiments",))
