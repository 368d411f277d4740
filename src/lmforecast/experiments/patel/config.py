"""What Patel et al.'s experiment reads, how much of it, and the names it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmforecast.core.errors import UserError

Progress = Callable[[str], None]

# The proxies reported by name in settings (b) and (c) besides the learned scorers:
# the paper's best data-selection proxy, the plain expert-solution cross-entropy and top-1 hits.
NAMED_PROXIES = ("top5@freq", "xent@uniform", "top1@uniform", "recip_rank@uniform")
MC_COLUMN = "mc_acc"  # multiple-choice (rc) accuracy on the same problems: a baseline
MC_SIGNAL = "multiple-choice accuracy (rc)"
REGRESSION_METHODS = ("linear", "sigmoid", "isotonic")
# Weights' dtypes a population can be scored in. float32 is exact (the default); bfloat16 is
# an explicit, labelled approximation (about 4x the matmul throughput on CPUs with avx512_bf16).
DTYPES = ("float32", "bfloat16", "float16")


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
    dtype: str = "float32"  # the models' weights when scoring; anything else is approximate

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise UserError(f"dtype {self.dtype!r}: expected {', '.join(DTYPES)}")

    @property
    def approximate(self) -> bool:
        """Scores in a lower precision than float32 (results say so wherever they show)."""
        return self.dtype != "float32"
