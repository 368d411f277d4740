"""What the rBridge experiment reads, how much of it, and the names it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str], None]

# The rBridge signals (lower is better for all three) and how the tables name them.
RBRIDGE = "rbridge"
RBRIDGE_TASK = "rbridge@task"
PLAIN_NLL = "rbridge_plain_nll"
TRACE_SIGNALS = (RBRIDGE, RBRIDGE_TASK, PLAIN_NLL)
LABELS = {
    RBRIDGE: "rBridge",  # MinMax per trace: the published algorithm
    RBRIDGE_TASK: "rBridge@task",  # MinMax over the task's tokens: the named option
    PLAIN_NLL: "plain NLL (traces)",  # the same traces unweighted: the paper's ablation
}


@dataclass(frozen=True)
class RBridgeConfig:
    """What the experiment reads and how much of it."""

    preset: str = "full"
    seed: int = 0
    docs_per_task: int = 100  # problems per task the frontier writes traces for
    main_family: str = "llama"  # proxies and targets: its smallest and largest sizes
    batch_size: int = 64
    folds: int = 5  # the paper's 5-fold cross-validation of the bridge
    level: float = 0.9  # nominal level of the bridge's prediction intervals
    n_boot: int = 500
    workers: int = 1  # processes scoring models in parallel
    executor: str = "local"  # where models are scored: local or ray[=ADDRESS][,options]
