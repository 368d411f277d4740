"""What Patel et al.'s experiment reads, how much of it, and the names it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str], None]

# The proxies reported by name in settings (b) and (c) besides the learned scorers:
# the paper's best data-selection proxy, the plain expert-solution cross-entropy and top-1 hits.
NAMED_PROXIES = ("top5@freq", "xent@uniform", "top1@uniform", "recip_rank@uniform")
MC_COLUMN = "mc_acc"  # multiple-choice (rc) accuracy on the same problems: a baseline
MC_SIGNAL = "multiple-choice accuracy (rc)"
REGRESSION_METHODS = ("linear", "sigmoid", "isotonic")


@dataclass(frozen=True)
class PatelConfig:
    """What the experiment reads and how much of it."""

    preset: str = "full"
    seed: int = 0
    docs_per_task: int = 100  # held-out expert solutions scored per task and checkpoint
    last_n_tokens: int = 1000
    fit_fraction: float = 1.0 / 18.0
    main_family: str = "llama"
    batch_size: int = 64
    n_boot: int = 500
    workers: int = 1  # processes scoring models in parallel
    executor: str = "local"  # where models are scored: local or ray[=ADDRESS][,options]
