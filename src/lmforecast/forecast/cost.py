"""Cost accounting: what a forecast saves against evaluating the model directly.

Every signal and every ground-truth run records wall seconds and an estimate of FLOPs. A cheap
signal is worth using when it sits on the Pareto front of (cost, decision accuracy): no other
option is both cheaper and at least as accurate.

>>> direct = CostRecord("generate+grade", flops=1e15, seconds=600.0)
>>> proxy = CostRecord("top5@freq", flops=1e11, seconds=3.0)
>>> cost_ratio(proxy, direct)
0.0001
>>> cost_ratio(proxy, direct, by="seconds")
0.005
>>> pareto_front([(1.0, 0.80, "a"), (2.0, 0.70, "b"), (3.0, 0.90, "c"), (1.0, 0.75, "d")])
[(1.0, 0.8, 'a'), (3.0, 0.9, 'c')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CostRecord:
    """The measured cost of one computation: estimated FLOPs and wall seconds."""

    name: str
    flops: float
    seconds: float

    def __post_init__(self) -> None:
        for field in ("flops", "seconds"):
            value = getattr(self, field)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"CostRecord {self.name!r}: {field} must be finite and >= 0")

    def __add__(self, other: CostRecord) -> CostRecord:
        return CostRecord(
            f"{self.name}+{other.name}", self.flops + other.flops, self.seconds + other.seconds
        )


def forward_flops(
    n_params: float,
    n_tokens: float,
    *,
    n_layers: int = 0,
    d_model: int = 0,
    context: float = 0.0,
) -> float:
    """FLOPs of a forward pass: 2 * params * tokens, plus attention 2 * layers * context * d.

    ``context`` is the mean number of positions each token attends to (omit to ignore attention).

    >>> forward_flops(1e6, 1000)
    2000000000.0
    >>> forward_flops(1e6, 1000, n_layers=2, d_model=64, context=100)
    2025600000.0
    """
    for name, v in (("n_params", n_params), ("n_tokens", n_tokens), ("context", context)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v}")
    if n_layers < 0 or d_model < 0:
        raise ValueError("n_layers and d_model must be >= 0")
    return 2.0 * n_params * n_tokens + 2.0 * n_layers * context * d_model * n_tokens


def cost_ratio(
    signal: CostRecord, direct: CostRecord, *, by: Literal["flops", "seconds"] = "flops"
) -> float:
    """Cost of the signal as a fraction of direct evaluation (``1e-4``: a 10,000x saving)."""
    if by not in ("flops", "seconds"):
        raise ValueError(f"by must be 'flops' or 'seconds', got {by!r}")
    denom = getattr(direct, by)
    if denom <= 0:
        raise ValueError(f"direct evaluation {direct.name!r} has zero {by}: no ratio")
    return float(getattr(signal, by) / denom)


def pareto_front(
    points: Iterable[tuple[float, float, str]],
) -> list[tuple[float, float, str]]:
    """Non-dominated ``(cost, decision_accuracy, name)`` points, sorted by cost.

    A point is dominated when another costs no more and is at least as accurate, and is strictly
    better in one of the two. Exact duplicates do not dominate each other; both are kept.
    """
    pts = [(float(c), float(a), str(n)) for c, a, n in points]
    for c, a, n in pts:
        if not (math.isfinite(c) and math.isfinite(a)) or c < 0:
            raise ValueError(f"point {n!r}: cost must be finite and >= 0, accuracy finite")
    front = [
        p
        for p in pts
        if not any(q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1]) for q in pts)
    ]
    return sorted(front, key=lambda p: (p[0], -p[1], p[2]))
