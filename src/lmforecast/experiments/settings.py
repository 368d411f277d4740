"""What every experiment's runner shares: settings that may not fit a population, and the
worker processes that score models.

A setting the population cannot support raises ``forecast.InsufficientData``; :class:`Settings`
turns exactly that into a note and an empty value, and lets every other error surface.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from lmforecast.executors import Executor, make_executor
from lmforecast.forecast import InsufficientData

T = TypeVar("T")


class Settings:
    """Runs settings, collecting a note for each one the population cannot support."""

    def __init__(self, progress: Callable[[str], None] | None, notes: list[str]) -> None:
        self.progress = progress
        self.notes = notes

    def __call__(self, label: str, compute: Callable[[], T], empty: T) -> T:
        if self.progress is not None:
            self.progress(label)
        try:
            return compute()
        except InsufficientData as e:
            self.notes.append(f"{label} not computable on this population: {e}")
            return empty


def init_scoring_worker() -> None:
    """A scoring worker process: one thread (the testbed's models are far too small to use
    several well) and no progress bars or warnings from transformers."""
    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


class ScoringPlan(Protocol):
    """What an experiment's config says about where its per-model jobs run."""

    @property
    def workers(self) -> int: ...

    @property
    def executor(self) -> str: ...


def scoring_executor(config: ScoringPlan, store_root: Path) -> Executor:
    """The executor of an experiment's per-model scoring jobs: ``config.workers`` spawned
    processes set up by :func:`init_scoring_worker`, or ``config.executor`` (Ray), whose nodes
    must all see ``store_root`` (each job writes its results there)."""
    return make_executor(
        config.workers,
        initializer=init_scoring_worker,
        spec=config.executor,
        shared_dirs=(store_root,),
    )
