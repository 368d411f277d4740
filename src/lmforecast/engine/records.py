"""What the engine returns for one request: per-token statistics, kept whole.

Per-token arrays are kept (not only sums) so that every proxy of METHODS.md can be recomputed
later without another forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RequestScore:
    """Per-token statistics of one request's continuation under one model."""

    request_index: int
    target_ids: np.ndarray  # int32 [T]
    logprob: np.ndarray  # float32 [T], natural log p(target)
    entropy: np.ndarray  # float32 [T], nats
    rank: np.ndarray  # int32 [T], 1 = the target is the arg-max
    top1_prob: np.ndarray  # float32 [T]
    top1_id: np.ndarray  # int32 [T]
    logprob_sum: float  # float64 sum of logprob (accumulated in float64)
    num_bytes: int  # UTF-8 bytes of the continuation
    truncated: int = 0  # context tokens dropped from the left to fit the window
    hidden: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    # float64 [T] per-token weights when the request carried per-character weights; NaN where a
    # token covers no continuation character (see engine.encode)
    weights: np.ndarray | None = field(default=None, compare=False)

    @property
    def num_tokens(self) -> int:
        return int(self.target_ids.shape[0])

    @property
    def is_greedy(self) -> bool:
        """True when every continuation token is the model's arg-max (lm-eval's second output)."""
        return bool((self.rank == 1).all())


@dataclass(frozen=True)
class ScoringCost:
    """What a scoring run cost: wall seconds, tokens through the model, estimated FLOPs."""

    seconds: float
    forward_tokens: int  # tokens run through the transformer body (prefixes counted once)
    scored_tokens: int  # positions whose output distribution was computed
    flops: float
