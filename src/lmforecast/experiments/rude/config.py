"""What the RuDE experiment reads, how much of it, and the names it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str], None]

RUDE = "RuDE (likelihood)"
TARGETS = ("sft", "rl")  # post-training stages whose accuracy RuDE forecasts
# Recipes whose base models hide what post-training unlocks (they answer in another format).
FORMAT_RECIPES = ("alt-format", "mixed-format")


@dataclass(frozen=True)
class RudeConfig:
    """What the experiment reads and how much of it."""

    preset: str = "full"
    seed: int = 0
    pairs_per_difficulty: int = 100  # per domain and difficulty (|V| = 1, 2, 3)
    docs_per_task: int = 100  # Patel's proxies (a baseline) on this many expert solutions
    mode: str = "likelihood"  # the testbed's models are too small to follow a judge prompt
    batch_size: int = 64
    n_boot: int = 500
    workers: int = 1  # processes scoring models in parallel
    executor: str = "local"  # where models are scored: local or ray[=ADDRESS][,options]
