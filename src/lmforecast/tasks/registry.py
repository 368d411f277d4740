"""The task registry. Names are ``task:variant`` (``gsm8k:gold``, ``arc_easy:rc``)."""

from __future__ import annotations

from lmforecast.errors import TaskError
from lmforecast.registry import Registry
from lmforecast.tasks.base import Task

TASKS: Registry[Task] = Registry("task", TaskError)
