"""pass@k (Chen et al. 2021) and task-level aggregation with confidence intervals.

The unbiased estimator for one problem with ``n`` samples of which ``c`` are correct is
``1 - C(n-c, k) / C(n, k)``; the product form ``1 - prod_{i=n-c+1}^{n} (1 - k/i)`` avoids huge
binomial coefficients. A task's pass@k is the mean over problems; its interval is Wilson's
when every problem contributes one binary outcome (pass@1 with one sample each), otherwise a
percentile bootstrap over problems (the per-problem estimates are not binomial counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``n`` samples, ``c`` of them correct.

    >>> pass_at_k(10, 0, 1), pass_at_k(10, 10, 5)
    (0.0, 1.0)
    >>> round(pass_at_k(10, 3, 1), 6)  # = c / n
    0.3
    >>> round(pass_at_k(5, 2, 2), 6)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    0.7
    >>> pass_at_k(200, 1, 100)  # one correct sample in 200: half of all 100-subsets hold it
    0.5
    >>> pass_at_k(3, 1, 4)
    Traceback (most recent call last):
    ...
    ValueError: pass@4 needs k <= n samples, got n=3
    """
    if n < 1 or not 0 <= c <= n:
        raise ValueError(f"need n >= 1 and 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs k <= n samples, got n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


@dataclass(frozen=True)
class Estimate:
    """A task-level mean with a confidence interval."""

    value: float
    low: float
    high: float
    n: int  # problems
    method: str  # "wilson" or "bootstrap"
    confidence: float = 0.95

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "method": self.method,
            "confidence": self.confidence,
        }


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sane at 0 and at total).

    >>> lo, hi = wilson_interval(0, 10)
    >>> lo, round(hi, 4)
    (0.0, 0.2775)
    >>> [round(x, 4) for x in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total and total > 0, got {successes}/{total}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / total
    denom = 1 + z * z / total
    center = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)  # exact ends, not 1e-17
    high = 1.0 if successes == total else min(1.0, center + half)
    return low, high


def bootstrap_interval(
    values: Sequence[float], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling problems), reproducible by seed.

    >>> bootstrap_interval([1.0, 1.0, 1.0])
    (1.0, 1.0)
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no values to bootstrap")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def aggregate_pass_at_k(
    counts: Sequence[tuple[int, int]],
    k: int,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Task pass@k from per-problem ``(n, c)`` counts, with a Wilson or bootstrap interval.

    >>> e = aggregate_pass_at_k([(1, 1), (1, 0), (1, 0), (1, 1)], k=1)
    >>> e.value, e.method
    (0.5, 'wilson')
    >>> e = aggregate_pass_at_k([(4, 1), (4, 4), (4, 0)], k=2)
    >>> round(e.value, 4), e.method, e.low <= e.value <= e.high
    (0.5, 'bootstrap', True)
    """
    if not counts:
        raise ValueError("no problems to aggregate")
    per_problem = [pass_at_k(n, c, k) for n, c in counts]
    value = float(np.mean(per_problem))
    if all(n == 1 for n, _ in counts):  # k must be 1: binary outcomes, binomial count
        successes = sum(c for _, c in counts)
        low, high = wilson_interval(successes, len(counts), confidence)
        method = "wilson"
    else:
        low, high = bootstrap_interval(per_problem, confidence, n_boot, seed)
        method = "bootstrap"
    return Estimate(value, low, high, len(counts), method, confidence)


def default_ks(n_samples: int) -> list[int]:
    """The k reported for ``n`` samples: 1, powers of two and the usual 10 and 100, up to n.

    >>> default_ks(1), default_ks(10)
    ([1], [1, 2, 4, 8, 10])
    """
    ks = {1, 10, 100, n_samples} | {2**i for i in range(1, 12)}
    return sorted(k for k in ks if k <= n_samples)
