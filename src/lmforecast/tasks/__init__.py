"""Task registry and loaders.

``get_task("gsm8k:gold")`` loads a registered task; a path ending in ``.jsonl`` loads a user task.
Built-in task families are the modules of this package, found by the registry on its first
lookup; a new task family is one new module here and nothing else.
"""

from __future__ import annotations

from functools import lru_cache

from lmforecast.core.records import Doc, GenerationSpec, Request, Task
from lmforecast.tasks.jsonl import load_jsonl_task
from lmforecast.tasks.registry import TASKS

__all__ = ["TASKS", "Doc", "GenerationSpec", "Request", "Task", "get_task", "load_jsonl_task"]


@lru_cache(maxsize=32)
def _load(name: str) -> Task:
    if name.endswith(".jsonl"):
        return load_jsonl_task(name)
    return TASKS.get(name)()


def get_task(name: str, limit: int | None = None) -> Task:
    """Load a task by registry name or JSONL path, keeping its first ``limit`` docs."""
    return _load(name).limited(limit)
