"""How good are per-example success probabilities? AUROC, Brier, ECE, task accuracy, with
bootstrap intervals over problems.

A forecaster (an in-training probe, say) gives each example a predicted probability of success
``p``; the truth is a *soft* label ``y``, the share of sampled answers that were correct (pass@1).
The metrics, as Liu et al. (2026) report them and as METHODS.md section 4 asks:

- AUROC of ``p`` against the hard label ``1[y > threshold]`` (threshold 0.5): can the forecaster
  tell the problems the model mostly solves from those it mostly fails? ``nan`` when the hard
  labels are all one class.
- Brier score: mean ``(p - y)^2`` against the soft label (the MSE of METHODS.md).
- Expected calibration error, written here (scikit-learn has none): ``n_bins`` equal-width bins
  of ``p`` over [0, 1] (the last bin closed), ``sum_b (n_b / n) |mean p_b - mean y_b|``, with
  the soft label as the outcome: a calibrated forecaster's mean ``p`` in a bin is the mean
  success rate there.
- Task accuracy: the mean of ``p`` (the forecast) against the mean of ``y`` (the truth) and
  their difference; this is the number a training run would watch.

Examples of one problem (several prompts, or one prompt at several checkpoints) are not
independent, so intervals resample *problems* with replacement (``groups``); a replicate is a
set of per-example weights (how often its problem was drawn), which every metric here accepts.
Percentile intervals; replicates where a metric is undefined (one-class AUROC) are left out.

>>> p = np.array([0.9, 0.8, 0.3, 0.1]); y = np.array([1.0, 0.75, 0.5, 0.0])
>>> auroc(p, y), round(brier(p, y), 4)
(1.0, 0.0156)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

FloatArray = npt.NDArray[np.float64]
METRICS = ("auroc", "brier", "ece", "predicted_accuracy", "true_accuracy", "accuracy_error")


def _weights(n: int, weight: FloatArray | None) -> FloatArray:
    return np.ones(n) if weight is None else np.asarray(weight, dtype=float)


def auroc(
    pred: FloatArray, labels: FloatArray, threshold: float = 0.5, weight: FloatArray | None = None
) -> float:
    """AUROC of ``pred`` against ``1[labels > threshold]`` (``nan`` if one class only)."""
    hard = np.asarray(labels) > threshold
    w = _weights(len(hard), weight)
    keep = w > 0
    if len(np.unique(hard[keep])) < 2:
        return float("nan")
    return float(roc_auc_score(hard[keep], np.asarray(pred)[keep], sample_weight=w[keep]))


def brier(pred: FloatArray, labels: FloatArray, weight: FloatArray | None = None) -> float:
    """Mean squared difference between ``pred`` and the soft ``labels``."""
    err = (np.asarray(pred, dtype=float) - np.asarray(labels, dtype=float)) ** 2
    return float(np.average(err, weights=_weights(len(err), weight)))


def expected_calibration_error(
    pred: FloatArray, labels: FloatArray, n_bins: int = 10, weight: FloatArray | None = None
) -> float:
    """Equal-width-bin ECE of ``pred`` against the soft ``labels`` (see module doc).

    >>> expected_calibration_error(np.array([0.1, 0.1, 0.9, 0.9]), np.array([0, 0.5, 1, 1]))
    0.125
    """
    p = np.asarray(pred, dtype=float)
    y = np.asarray(labels, dtype=float)
    w = _weights(len(p), weight)
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    total = w.sum()
    if total <= 0:
        return float("nan")
    mass = np.bincount(bins, weights=w, minlength=n_bins)
    sum_p = np.bincount(bins, weights=w * p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=w * y, minlength=n_bins)
    filled = mass > 0
    gaps = np.abs(sum_p[filled] - sum_y[filled]) / mass[filled]
    return float(np.round(np.sum(mass[filled] / total * gaps), 12))


def calibration_bins(
    pred: FloatArray, labels: FloatArray, n_bins: int = 10
) -> list[dict[str, float]]:
    """The reliability diagram behind :func:`expected_calibration_error`: for each non-empty
    equal-width bin of ``pred``, its bounds, the mean prediction, the mean (soft) label and
    the count.

    >>> [(b["predicted"], b["observed"], b["count"])
    ...  for b in calibration_bins(np.array([0.1, 0.1, 0.9]), np.array([0, 0.5, 1]), 2)]
    [(0.1, 0.25, 2.0), (0.9, 1.0, 1.0)]
    """
    p = np.asarray(pred, dtype=float)
    y = np.asarray(labels, dtype=float)
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(float)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    return [
        {
            "bin_low": b / n_bins,
            "bin_high": (b + 1) / n_bins,
            "predicted": float(np.round(sum_p[b] / count[b], 12)),
            "observed": float(np.round(sum_y[b] / count[b], 12)),
            "count": float(count[b]),
        }
        for b in range(n_bins)
        if count[b] > 0
    ]


def point_metrics(
    pred: FloatArray,
    labels: FloatArray,
    weight: FloatArray | None = None,
    n_bins: int = 10,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Every metric of :data:`METRICS` at once (optionally weighted)."""
    w = _weights(len(pred), weight)
    predicted = float(np.average(pred, weights=w))
    true = float(np.average(labels, weights=w))
    return {
        "auroc": auroc(pred, labels, threshold, w),
        "brier": brier(pred, labels, w),
        "ece": expected_calibration_error(pred, labels, n_bins, w),
        "predicted_accuracy": predicted,
        "true_accuracy": true,
        "accuracy_error": predicted - true,
    }


@dataclass(frozen=True)
class ClassificationMetrics:
    """Point values of :data:`METRICS`, and percentile intervals over resampled problems."""

    n: int
    n_groups: int
    auroc: float
    brier: float
    ece: float
    predicted_accuracy: float
    true_accuracy: float
    accuracy_error: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_boot: int = 0
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        return out


def group_bootstrap_weights(
    groups: Sequence[Any] | npt.NDArray[Any], n_boot: int, seed: int = 0
) -> npt.NDArray[np.float64]:
    """``[n_boot, n]`` per-example weights: each replicate draws the problems with replacement
    and weights each example by how often its problem was drawn."""
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(inverse.max()) + 1 if len(inverse) else 0
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    counts = np.stack([np.bincount(d, minlength=n_groups) for d in draws]) if n_boot else None
    if counts is None:
        return np.zeros((0, len(inverse)))
    return counts[:, inverse].astype(float)


def classification_metrics(
    pred: FloatArray,
    labels: FloatArray,
    groups: Sequence[Any] | npt.NDArray[Any] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    n_bins: int = 10,
    threshold: float = 0.5,
) -> ClassificationMetrics:
    """All metrics with bootstrap intervals over ``groups`` (each example its own group when
    None; ``n_boot=0`` gives no intervals)."""
    p = np.asarray(pred, dtype=float)
    y = np.asarray(labels, dtype=float)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(f"pred {p.shape} and labels {y.shape} must be equal-length vectors")
    g = np.arange(len(p)) if groups is None else np.asarray(groups)
    values = point_metrics(p, y, None, n_bins, threshold)
    intervals: dict[str, tuple[float, float]] = {}
    if n_boot > 0 and len(p):
        reps = [
            point_metrics(p, y, w, n_bins, threshold)
            for w in group_bootstrap_weights(g, n_boot, seed)
        ]
        alpha = (1.0 - level) / 2.0
        for name in METRICS:
            col = np.array([r[name] for r in reps])
            col = col[np.isfinite(col)]
            lo, hi = np.quantile(col, [alpha, 1.0 - alpha]) if len(col) else (np.nan, np.nan)
            intervals[name] = (float(lo), float(hi))
    return ClassificationMetrics(
        n=len(p),
        n_groups=len(np.unique(g)),
        **values,
        intervals=intervals,
        n_boot=int(n_boot),
        level=level,
    )
