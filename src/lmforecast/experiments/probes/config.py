"""What the probes experiment reads, how much of it, and the names it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str], None]

PROBE_NAMES = ("logreg", "mlp", "attention", "submodel")
PROBLEM_ONLY = "baseline: problem-only features"
PROMPT_CE = "baseline: prompt cross-entropy"


@dataclass(frozen=True)
class ProbesConfig:
    """What the experiment reads and how much of it.

    ``recipes``: the runs (at the main family's largest size) whose checkpoints and
    post-trained models get labels; empty means the ``max_runs`` recipes whose final base
    model is most accurate there (weak runs solve almost nothing: no positives to rank).
    ``checkpoints``: the last ``checkpoints`` base checkpoints of each run (0: all).
    ``layers``: probed layers (transformers numbering; negative from the end; 0 is the
    embeddings, so the middle layer is ``mid_layer``). The four probes are evaluated on each
    run's final checkpoint; ``logreg`` (the cheapest) on every model, for transfer.
    """

    preset: str = "full"
    seed: int = 0
    problems_per_task: int = 200
    n_samples: int = 8
    temperature: float = 0.8
    main_family: str = "llama"
    recipes: tuple[str, ...] = ()
    max_runs: int = 4
    checkpoints: int = 0
    probes: tuple[str, ...] = PROBE_NAMES  # evaluated on each run's final checkpoint
    post_trained: bool = True  # also label and probe the runs' SFT and RL models
    mid_layer: bool = True
    folds: int = 5
    n_boot: int = 200
    batch_size: int = 64
    workers: int = 1
    executor: str = "local"  # where models are scored: local or ray[=ADDRESS][,options]
