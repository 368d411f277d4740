"""The task registry. Names are ``task:variant`` (``gsm8k:gold``, ``arc_easy:rc``)."""

from __future__ import annotations

from collections.abc import Callable

from lmforecast.core.errors import TaskError
from lmforecast.core.records import Task
from lmforecast.core.registry import Registry

TASKS: Registry[Callable[[], Task]] = Registry("task", TaskError, packages=("lmforecast.tasks",))
"""Task factories by name. Every module of this package registers its tasks when the registry
is first asked for a name it lacks (a new task family is one new module); the testbed's tasks
arrive as a plug-in (``lmforecast.plugins``)."""
