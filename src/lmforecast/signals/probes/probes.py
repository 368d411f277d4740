"""The probe contract, the ``PROBES`` registry, and the scikit-learn probe (``logreg``).

A probe maps a prompt's features to the probability that the checkpoint answers it correctly
(its pass@1). It learns from *soft* labels (the share of n samples that were correct) and from
problem ids: whatever it tunes internally (regularisation) is tuned by cross-validation split
by problem, so no problem informs the choice made for itself.

Inputs (:data:`ProbeInput`) are either :class:`~lmforecast.engine.features.PromptFeatures` (the
probe picks its layers and pooling from its options) or a plain numeric matrix
``[n, features]`` (a 1-D vector is one column): the baselines, probes on problem-only features
or on the prompt's cross-entropy, are a ``logreg`` or ``mlp`` probe on such a matrix.

Architectures, each with a frozen options dataclass, registered by name:

- ``logreg`` (here): logistic regression on standardised pooled states; soft labels by
  duplicating each example as a success with weight ``y`` and a failure with weight ``1 - y``
  (the weighted log-loss is then exactly the soft-label BCE); ``C`` from a grid by inner CV;
- ``mlp``, ``attention`` (:mod:`.torch_probes`) and ``submodel`` (:mod:`.submodel`).

Inner CV scores a candidate by the soft-label BCE of its held-out predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lmforecast.core.registry import Registry
from lmforecast.engine.features import Pooling, PromptFeatures

FloatArray = npt.NDArray[np.float64]
ProbeInput = PromptFeatures | npt.NDArray[Any]
EPS = 1e-6


class Probe(Protocol):
    """Fit on soft labels with problem ids; predict P(success) per prompt, shape ``[n]``."""

    def fit(self, x: ProbeInput, y: FloatArray, groups: npt.NDArray[Any]) -> Probe: ...

    def predict_proba(self, x: ProbeInput) -> FloatArray: ...


ProbeFactory = Callable[..., Probe]
PROBES: Registry[ProbeFactory] = Registry("probe", packages=("lmforecast.signals.probes",))


def make_probe(name: str, *args: Any, **kwargs: Any) -> Probe:
    """A new probe of the registered architecture ``name`` (args go to its constructor)."""
    return PROBES.get(name)(*args, **kwargs)


def take(x: ProbeInput, index: npt.NDArray[np.integer]) -> ProbeInput:
    """The rows of ``x`` at ``index``."""
    if isinstance(x, PromptFeatures):
        return x.subset(index)
    return np.asarray(x)[index]


def n_rows(x: ProbeInput) -> int:
    return len(x)


def pooled_matrix(
    x: ProbeInput, layers: Sequence[int] | None, pooling: Sequence[Pooling]
) -> npt.NDArray[np.float32]:
    """A feature matrix: the chosen pooled states of features, or a caller's matrix as is."""
    if isinstance(x, PromptFeatures):
        return x.pooled(pooling, layers)
    matrix = np.asarray(x, dtype=np.float32)
    return matrix[:, None] if matrix.ndim == 1 else matrix


def soft_bce(pred: FloatArray, y: FloatArray) -> float:
    """Mean binary cross-entropy of predictions against soft labels (clipped at ``EPS``)."""
    p = np.clip(np.asarray(pred, dtype=float), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def group_folds(
    groups: npt.NDArray[Any], folds: int, seed: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """(train, test) index pairs of a seeded K-fold split by problem (``folds`` capped at the
    number of problems): no problem is ever on both sides."""
    groups = np.asarray(groups)
    k = min(folds, len(np.unique(groups)))
    if k < 2:
        raise ValueError(f"a split by problem needs at least 2 problems, got {k}")
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    dummy = np.zeros(len(groups))
    return [
        (tr.astype(np.int64), te.astype(np.int64))
        for tr, te in splitter.split(dummy, groups=groups)
    ]


def choose_by_group_cv(
    candidates: Sequence[Any],
    fit_predict: Callable[[Any, npt.NDArray[np.int64], npt.NDArray[np.int64]], FloatArray],
    y: FloatArray,
    groups: npt.NDArray[Any],
    folds: int,
    seed: int,
) -> Any:
    """The candidate whose out-of-fold predictions (inner split by problem) have the lowest
    soft-label BCE; the only candidate, or the first when there are too few problems to split.

    ``fit_predict(candidate, train_index, test_index)`` trains on one side, predicts the other.
    """
    if len(candidates) == 1 or len(np.unique(groups)) < 2 or folds < 2:
        return candidates[0]
    splits = group_folds(groups, folds, seed)
    losses = []
    for candidate in candidates:
        pred = np.zeros(len(y))
        for train, test in splits:
            pred[test] = fit_predict(candidate, train, test)
        losses.append(soft_bce(pred, y))
    return candidates[int(np.argmin(losses))]


def soft_duplicate(
    x: npt.NDArray[Any], y: FloatArray
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64], FloatArray]:
    """Each row twice, as a success weighted ``y`` and a failure weighted ``1 - y``."""
    n = len(y)
    hard = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    return np.concatenate([x, x]), hard, np.concatenate([y, 1.0 - y])


@dataclass(frozen=True)
class LogRegOptions:
    """``layers``: which feature layers (None: all the features hold); ``pooling``: which pooled
    states, concatenated; ``cs``: the grid of inverse regularisation strengths, chosen by
    ``inner_folds``-fold CV split by problem; ``seed`` seeds the inner split."""

    layers: tuple[int, ...] | None = None
    pooling: tuple[Literal["last", "mean"], ...] = ("last",)
    cs: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
    inner_folds: int = 3
    max_iter: int = 2000
    seed: int = 0


def _fit_logreg(x: npt.NDArray[Any], y: FloatArray, c: float, max_iter: int) -> Any:
    xx, hard, weight = soft_duplicate(x, np.asarray(y, dtype=float))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    model.fit(xx, hard, logisticregression__sample_weight=weight)
    return model


@PROBES.register("logreg")
class LogRegProbe:
    """Logistic regression on pooled states (or on a caller's matrix), soft labels, CV'd ``C``."""

    def __init__(self, options: LogRegOptions | None = None) -> None:
        self.options = options or LogRegOptions()
        self.c: float | None = None
        self._model: Any = None

    def fit(self, x: ProbeInput, y: FloatArray, groups: npt.NDArray[Any]) -> LogRegProbe:
        o = self.options
        matrix = pooled_matrix(x, o.layers, o.pooling)
        y = np.asarray(y, dtype=float)

        def fit_predict(c: float, train: npt.NDArray[np.int64], test: npt.NDArray[np.int64]):
            model = _fit_logreg(matrix[train], y[train], c, o.max_iter)
            return model.predict_proba(matrix[test])[:, 1]

        self.c = float(choose_by_group_cv(o.cs, fit_predict, y, groups, o.inner_folds, o.seed))
        self._model = _fit_logreg(matrix, y, self.c, o.max_iter)
        return self

    def predict_proba(self, x: ProbeInput) -> FloatArray:
        if self._model is None:
            raise RuntimeError("fit the probe first")
        matrix = pooled_matrix(x, self.options.layers, self.options.pooling)
        return np.asarray(self._model.predict_proba(matrix)[:, 1], dtype=float)
