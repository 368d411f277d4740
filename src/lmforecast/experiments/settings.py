"""What every experiment's runner shares: settings that may not fit a population, and the
worker processes that score models.

A setting the population cannot support raises ``forecast.InsufficientData``; :class:`Settings`
turns exactly that into a note and an empty value, and lets every other error surface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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
