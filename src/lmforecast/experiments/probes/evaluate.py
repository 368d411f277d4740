"""How well a probe forecasts pass@1 on problems it never saw: out-of-fold evaluation split by
problem, and transfer from one checkpoint to another.

Splits are by problem (``groups``, a seeded :class:`~sklearn.model_selection.GroupKFold`): a
problem's prompts are all in training or all in testing, so a probe cannot score well by
recognising a problem it was trained on. Every prediction is out of fold; the metrics (AUROC on
``1[pass@1 > 0.5]``, Brier, ECE, predicted against true task accuracy, bootstrap intervals over
problems) are :func:`lmforecast.forecast.classification.classification_metrics` of those.

:func:`transfer` is the in-training use: train on checkpoint ``a``'s features and labels,
predict checkpoint ``b``'s labels from ``b``'s features. Both are of the same prompts in the same
order, and the split by problem still holds, so the test problems are unseen by the probe at
*both* checkpoints.

The two baselines that show what hidden states add are the same calls with a plain matrix for
features: problem-only features (prompt length, difficulty parameters) or the prompt's
cross-entropy as one column (:func:`baseline_features`), with ``probe="logreg"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from lmforecast.forecast.classification import ClassificationMetrics, classification_metrics
from lmforecast.signals.probes.probes import (
    PROBES,
    FloatArray,
    Probe,
    ProbeInput,
    group_folds,
    n_rows,
    take,
)

ProbeSpec = str | Callable[[], Probe]


@dataclass(frozen=True, eq=False)
class ProbeEvaluation:
    """Out-of-fold ``predictions`` of one probe, the ``labels`` and ``groups`` they are judged
    against, each example's ``fold``, and the metrics."""

    probe: str
    predictions: FloatArray
    labels: FloatArray
    groups: npt.NDArray[Any]
    fold: npt.NDArray[np.int64]
    metrics: ClassificationMetrics
    folds: int
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "folds": self.folds,
            "seed": self.seed,
            "n": len(self.labels),
            "metrics": self.metrics.to_dict(),
            "notes": list(self.notes),
        }


def _factory(probe: ProbeSpec) -> tuple[str, Callable[[], Probe]]:
    if isinstance(probe, str):
        make = PROBES.get(probe)
        return probe, make
    return getattr(probe, "__name__", type(probe).__name__), probe


def _check(x: ProbeInput, y: FloatArray, groups: npt.NDArray[Any], what: str) -> None:
    if not (n_rows(x) == len(y) == len(groups)):
        raise ValueError(
            f"{what}: {n_rows(x)} feature rows, {len(y)} labels and {len(groups)} problem ids"
        )
    if np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(y)):
        raise ValueError(f"{what}: labels must be pass@1 shares in [0, 1]")


@dataclass(frozen=True, eq=False)
class FoldProbes:
    """One fresh probe fitted on each training fold of one checkpoint (a split by problem),
    with each fold's test rows. Applied to that checkpoint's features they give its
    out-of-fold predictions; applied to another checkpoint's features of the same prompts,
    its transfer predictions: one fit serves every later checkpoint."""

    probes: tuple[Probe, ...]
    tests: tuple[npt.NDArray[np.int64], ...]
    n: int

    def predict(self, x: ProbeInput) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """Each row's prediction by the probe that never saw its problem, and its fold."""
        if n_rows(x) != self.n:
            raise ValueError(f"fold probes of {self.n} prompts asked about {n_rows(x)}")
        pred = np.full(self.n, np.nan)
        fold_of = np.full(self.n, -1, dtype=np.int64)
        for k, (probe, test) in enumerate(zip(self.probes, self.tests, strict=True)):
            pred[test] = probe.predict_proba(take(x, test))
            fold_of[test] = k
        return pred, fold_of


def fit_folds(
    make: Callable[[], Probe],
    x: ProbeInput,
    y: FloatArray,
    groups: npt.NDArray[Any],
    folds: int,
    seed: int,
) -> FoldProbes:
    """:class:`FoldProbes` of ``make``'s probes on ``x``, split by problem (``groups``)."""
    probes, tests = [], []
    for train, test in group_folds(groups, folds, seed):
        probes.append(make().fit(take(x, train), y[train], groups[train]))
        tests.append(test)
    return FoldProbes(tuple(probes), tuple(tests), len(groups))


def cross_fit(
    make: Callable[[], Probe],
    fit_x: ProbeInput,
    fit_y: FloatArray,
    predict_x: ProbeInput,
    groups: npt.NDArray[Any],
    folds: int,
    seed: int,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Out-of-fold predictions on ``predict_x`` of probes fitted on ``fit_x`` (same rows), one
    fresh probe per fold of a split by problem; and each row's fold."""
    return fit_folds(make, fit_x, fit_y, groups, folds, seed).predict(predict_x)


def evaluate_folds(
    fitted: FoldProbes,
    features: ProbeInput,
    labels: Sequence[float] | FloatArray,
    groups: Sequence[Any] | npt.NDArray[Any],
    *,
    name: str,
    n_boot: int = 1000,
    seed: int = 0,
    notes: tuple[str, ...] = (),
) -> ProbeEvaluation:
    """The evaluation of already fitted fold probes on ``features`` and ``labels`` (their own
    checkpoint's: out of fold; another checkpoint's: transfer)."""
    y = np.asarray(labels, dtype=float)
    g = np.asarray(groups)
    _check(features, y, g, "evaluate_folds")
    pred, fold_of = fitted.predict(features)
    metrics = classification_metrics(pred, y, g, n_boot=n_boot, seed=seed)
    return ProbeEvaluation(name, pred, y, g, fold_of, metrics, len(fitted.probes), seed, notes)


def evaluate_probe(
    probe: ProbeSpec,
    features: ProbeInput,
    labels: Sequence[float] | FloatArray,
    groups: Sequence[Any] | npt.NDArray[Any],
    *,
    folds: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    name: str | None = None,
) -> ProbeEvaluation:
    """Cross-validated forecast quality of ``probe`` (a registered name, or a factory making a
    configured probe, e.g. ``lambda: SubmodelProbe(model, options)``) on one checkpoint."""
    y = np.asarray(labels, dtype=float)
    g = np.asarray(groups)
    _check(features, y, g, "evaluate_probe")
    label, make = _factory(probe)
    pred, fold_of = cross_fit(make, features, y, features, g, folds, seed)
    metrics = classification_metrics(pred, y, g, n_boot=n_boot, seed=seed)
    k = int(fold_of.max()) + 1
    return ProbeEvaluation(name or label, pred, y, g, fold_of, metrics, k, seed)


def transfer(
    train_features: ProbeInput,
    train_labels: Sequence[float] | FloatArray,
    test_features: ProbeInput,
    test_labels: Sequence[float] | FloatArray,
    probe: ProbeSpec,
    groups: Sequence[Any] | npt.NDArray[Any],
    *,
    folds: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    name: str | None = None,
) -> ProbeEvaluation:
    """Train on one checkpoint (``train_*``), test on another (``test_*``): the same prompts in
    the same order, with labels recomputed at the test checkpoint; split by problem, so each
    prediction is for a problem the probe never trained on."""
    y_train = np.asarray(train_labels, dtype=float)
    y_test = np.asarray(test_labels, dtype=float)
    g = np.asarray(groups)
    _check(train_features, y_train, g, "transfer (train checkpoint)")
    _check(test_features, y_test, g, "transfer (test checkpoint)")
    label, make = _factory(probe)
    pred, fold_of = cross_fit(make, train_features, y_train, test_features, g, folds, seed)
    metrics = classification_metrics(pred, y_test, g, n_boot=n_boot, seed=seed)
    k = int(fold_of.max()) + 1
    note = "trained on one checkpoint, tested on another (unseen problems)"
    return ProbeEvaluation(name or label, pred, y_test, g, fold_of, metrics, k, seed, (note,))


def baseline_features(*columns: Sequence[float] | FloatArray) -> npt.NDArray[np.float64]:
    """A baseline's feature matrix: one column per argument (each ``[n]``) or matrix
    (``[n, m]``), side by side, e.g. ``baseline_features(prompt_xent)`` or
    ``baseline_features(lengths, difficulty)``.

    >>> baseline_features([1.0, 2.0], [[3.0, 4.0], [5.0, 6.0]]).tolist()
    [[1.0, 3.0, 4.0], [2.0, 5.0, 6.0]]
    """
    parts = [np.asarray(c, dtype=float) for c in columns]
    return np.concatenate([p[:, None] if p.ndim == 1 else p for p in parts], axis=1)
