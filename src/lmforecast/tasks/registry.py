"""The task registry. Names are ``task:variant`` (``gsm8k:gold``, ``arc_easy:rc``)."""

from __future__ import annotations

from collections.abc import Callable

from lmforecast.core.errors import TaskError
from lmforecast.core.records import Task
from lmforecast.core.registry import Registry

TASKS: Registry[Callable[[], Task]] = Registry("task", TaskError)
"""Task factories by name; the testbed's tasks arrive as a plug-in (``lmforecast.plugins``)."""
