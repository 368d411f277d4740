"""Pearson and Spearman correlation across models, with intervals that resample the models.

RuDE's validation asks how well a score of *base* models predicts their accuracy *after*
post-training: one value per model on each side, so the only unit to resample is the model
(a percentile bootstrap over model indices; a resample whose values are all tied gives no
correlation and is skipped).

>>> c = correlate([1.0, 2.0, 3.0, 4.0], [0.1, 0.3, 0.2, 0.5], n_boot=200, seed=0)
>>> round(c.pearson, 3), round(c.spearman, 3), c.n
(0.832, 0.8, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.stats

from lmforecast.forecast.errors import InsufficientData


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman across ``n`` models with percentile intervals (nan if undefined)."""

    pearson: float
    pearson_ci: tuple[float, float]
    spearman: float
    spearman_ci: tuple[float, float]
    n: int


def _both(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return (
        float(scipy.stats.pearsonr(x, y).statistic),
        float(scipy.stats.spearmanr(x, y).statistic),
    )


def correlate(
    signal: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Correlation:
    """Correlations of ``signal`` with ``truth`` (one value per model), bootstrap over models."""
    x = np.asarray(signal, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"signal {x.shape} and truth {y.shape} must be equal-length vectors")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        raise InsufficientData(f"a correlation needs at least 3 models, got {x.size}")
    pearson, spearman = _both(x, y)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, x.size, x.size)
        p, s = _both(x[idx], y[idx])
        if np.isfinite(p):
            draws.append((p, s))
    tail = 100 * (1 - confidence) / 2
    if draws:
        arr = np.asarray(draws)
        p_ci = tuple(float(v) for v in np.percentile(arr[:, 0], [tail, 100 - tail]))
        s_ci = tuple(float(v) for v in np.nanpercentile(arr[:, 1], [tail, 100 - tail]))
    else:
        p_ci = s_ci = (float("nan"), float("nan"))
    return Correlation(pearson, (p_ci[0], p_ci[1]), spearman, (s_ci[0], s_ci[1]), int(x.size))
