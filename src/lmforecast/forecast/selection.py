"""Model-selection scorers over many proxies (Patel et al., 2026; METHODS.md section 1).

Input: a feature tensor ``X[task, model, proxy]`` (the 80 token-level proxies, or any features)
and the truth ``Y[task, model]`` (downstream accuracy). A *scorer* is trained on some tasks and
then gives every model of an unseen task a score; only the ranking it induces matters, judged by
Spearman's rho against the truth.

Features are z-scored within each task (per proxy, across models) before anything else
(METHODS.md [choice]): proxies live on task-specific scales, and a ranking within a task is
invariant to that per-task affine change. This uses no truth, so it is done once, before the
folds.

Scorers (fitting functions ``fit(X_train, Y_train) -> scorer``, registry :data:`SCORERS`):

- ``best_single``: the proxy with the highest mean Spearman on held-in tasks, *oriented*: we rank
  proxies by ``|mean rho|`` and use the sign of the mean (a proxy that is lower-is-better, like
  cross-entropy, enters negated).
- ``sparse3``: a 3-sparse linear combination fitted by least squares to the z-scored truth,
  pooled over held-in tasks, no intercept (everything is centred per task). Default search:
  greedy forward selection (add the proxy that most reduces the squared error, three times);
  ``search="exhaustive"`` tries every triple among the ``candidates`` proxies with the largest
  ``|mean rho|``.
- ``ranksvm_linear``: pairwise preferences within each held-in task: for every ordered pair of
  models with different truth, the difference ``x_i - x_j`` labelled ``sign(y_i - y_j)`` (both
  orders, so the problem is symmetric), sklearn ``LinearSVC`` without intercept. A model's score
  is ``w . x``.
- ``ranksvm_rbf``: the same pairs fed to ``SVC(kernel="rbf")``; the RBF decision is not linear
  in ``x``, so a model's score is its summed preference over the other models of the task,
  ``sum_j decision(x_i - x_j)`` (a Borda count of soft pairwise wins).

Protocol: leave-two-tasks-out cross-validation over all pairs of tasks (3 tasks give 3 folds that
each train on a single task); per fold the Spearman of each held-out task, averaged over the two.

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(3, 12, 4))
>>> Y = X[:, :, 2] - 0.5 * X[:, :, 0]
>>> res = leave_two_tasks_out(X, Y, ["ranksvm_linear"])
>>> res["ranksvm_linear"].mean_spearman > 0.95, len(res["ranksvm_linear"].fold_spearman)
(True, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.stats
from sklearn.svm import SVC, LinearSVC

from lmforecast.core.registry import Registry
from lmforecast.forecast.errors import InsufficientData, UnknownNameError

FloatArray = npt.NDArray[np.float64]
ModelScorer = Callable[[FloatArray], FloatArray]
"""A trained scorer: ``features[model, proxy]`` of one task -> ``score[model]``."""
FitScorer = Callable[..., ModelScorer]
"""``fit(X[task, model, proxy], Y[task, model]) -> ModelScorer``."""

DEFAULT_SCORERS = ("best_single", "sparse3", "ranksvm_linear", "ranksvm_rbf")
DEFAULT_CONFIDENCE = 0.95

SCORERS: Registry[FitScorer] = Registry("selection scorer", error=UnknownNameError)
"""Model-selection scorers: ``SCORERS.get(name)(X_train, Y_train, **options)``."""
register = SCORERS.register


# --- inputs -----------------------------------------------------------------------------------


def _check_xy(X: npt.ArrayLike, Y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(Y, dtype=np.float64)
    if xa.ndim != 3:
        raise ValueError(f"X must be a [task, model, proxy] tensor, got shape {xa.shape}")
    if ya.ndim != 2:
        raise ValueError(f"Y must be a [task, model] matrix, got shape {ya.shape}")
    if xa.shape[:2] != ya.shape:
        raise ValueError(
            f"X and Y must cover the same tasks and models: X is {xa.shape[:2]} "
            f"(task, model), Y is {ya.shape}"
        )
    if xa.shape[1] < 2 or xa.shape[2] < 1:
        raise InsufficientData(f"need at least 2 models and 1 proxy, got shape {xa.shape}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("X and Y must be finite (no nan or inf)")
    flat = [int(k) for k in np.flatnonzero(np.ptp(ya, axis=1) == 0)]
    if flat:
        raise InsufficientData(
            f"truth is the same for every model on task(s) {flat}: nothing to rank"
        )
    return xa, ya


def zscore_within_task(X: npt.ArrayLike) -> FloatArray:
    """Standardise ``X[task, model, proxy]`` across models, per task and proxy.

    A proxy that is constant on a task becomes 0 there (it carries no ranking information).

    >>> zscore_within_task([[[1.0, 5.0], [3.0, 5.0]]]).tolist()
    [[[-1.0, 0.0], [1.0, 0.0]]]
    """
    xa = np.asarray(X, dtype=np.float64)
    if xa.ndim not in (2, 3):
        raise ValueError(f"expected [task, model, proxy] or [task, model], got shape {xa.shape}")
    mean = xa.mean(axis=1, keepdims=True)
    std = xa.std(axis=1, keepdims=True)
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, (xa - mean) / safe, 0.0)


def _rowwise_spearman(a: FloatArray, b: FloatArray) -> FloatArray:
    """Spearman between rows of ``a`` and ``b`` (last axis = models); 0 where undefined."""
    ra = scipy.stats.rankdata(a, axis=-1)
    rb = scipy.stats.rankdata(b, axis=-1)
    ra = ra - ra.mean(axis=-1, keepdims=True)
    rb = rb - rb.mean(axis=-1, keepdims=True)
    denom = np.sqrt((ra * ra).sum(axis=-1) * (rb * rb).sum(axis=-1))
    num = (ra * rb).sum(axis=-1)
    return np.asarray(np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0))


def proxy_spearman(X: npt.ArrayLike, Y: npt.ArrayLike) -> FloatArray:
    """``rho[task, proxy]``: Spearman of each proxy with the truth on each task (0 if constant).

    >>> proxy_spearman([[[1, 3], [2, 2], [3, 1]]], [[1, 2, 3]]).tolist()
    [[1.0, -1.0]]
    """
    xa, ya = _check_xy(X, Y)
    feats = np.moveaxis(xa, 2, 1)  # (task, proxy, model)
    return _rowwise_spearman(feats, ya[:, None, :])


# --- fitted scorers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearScorer:
    """score = sum_k weights[k] * features[:, columns[k]]."""

    columns: tuple[int, ...]
    weights: tuple[float, ...]

    def __call__(self, features: FloatArray) -> FloatArray:
        f = np.asarray(features, dtype=np.float64)
        return np.asarray(f[:, list(self.columns)] @ np.array(self.weights, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class PairwiseKernelScorer:
    """score_i = sum_{j != i} decision(x_i - x_j) of a pairwise RBF SVM."""

    svm: Any

    def __call__(self, features: FloatArray) -> FloatArray:
        f = np.asarray(features, dtype=np.float64)
        m = f.shape[0]
        diffs = (f[:, None, :] - f[None, :, :]).reshape(m * m, -1)
        dec = np.asarray(self.svm.decision_function(diffs), dtype=np.float64).reshape(m, m)
        np.fill_diagonal(dec, 0.0)
        return np.asarray(dec.sum(axis=1))


# --- scorers ----------------------------------------------------------------------------------


@register("best_single")
def fit_best_single(X: npt.ArrayLike, Y: npt.ArrayLike) -> LinearScorer:
    """The single proxy with the largest ``|mean Spearman|`` over tasks, signed by that mean."""
    rho = proxy_spearman(X, Y).mean(axis=0)
    best = int(np.argmax(np.abs(rho)))
    return LinearScorer(columns=(best,), weights=(-1.0 if rho[best] < 0 else 1.0,))


def _lstsq_sse(A: FloatArray, b: FloatArray) -> tuple[FloatArray, float]:
    coef = np.asarray(np.linalg.lstsq(A, b, rcond=None)[0], dtype=np.float64)
    resid = b - A @ coef
    return coef, float(resid @ resid)


@register("sparse3")
def fit_sparse_linear(
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    *,
    k: int = 3,
    search: Literal["greedy", "exhaustive"] = "greedy",
    candidates: int = 15,
) -> LinearScorer:
    """A ``k``-sparse least-squares fit of z-scored truth on z-scored proxies, pooled over tasks."""
    xa, ya = _check_xy(X, Y)
    n_feat = xa.shape[2]
    if not 1 <= k <= n_feat:
        raise ValueError(f"k must lie in 1..{n_feat} (number of proxies), got {k}")
    A = zscore_within_task(xa).reshape(-1, n_feat)
    b = zscore_within_task(ya).ravel()
    if search == "greedy":
        chosen: list[int] = []
        for _ in range(k):
            trials = [
                (_lstsq_sse(A[:, [*chosen, f]], b)[1], f) for f in range(n_feat) if f not in chosen
            ]
            chosen.append(min(trials)[1])
    elif search == "exhaustive":
        if candidates < k:
            raise ValueError(f"candidates ({candidates}) must be >= k ({k})")
        rho = np.abs(proxy_spearman(xa, ya).mean(axis=0))
        pool = [int(i) for i in np.argsort(-rho, kind="stable")[:candidates]]
        chosen = list(
            min(itertools.combinations(pool, k), key=lambda c: _lstsq_sse(A[:, list(c)], b)[1])
        )
    else:
        raise ValueError(f"search must be 'greedy' or 'exhaustive', got {search!r}")
    coef, _ = _lstsq_sse(A[:, chosen], b)
    return LinearScorer(columns=tuple(chosen), weights=tuple(float(c) for c in coef))


def _preference_pairs(xa: FloatArray, ya: FloatArray) -> tuple[FloatArray, FloatArray]:
    """All ordered within-task pairs with different truth: (x_i - x_j, sign(y_i - y_j))."""
    diffs, labels = [], []
    for x_task, y_task in zip(xa, ya, strict=True):
        i, j = np.nonzero(y_task[:, None] != y_task[None, :])
        diffs.append(x_task[i] - x_task[j])
        labels.append(np.sign(y_task[i] - y_task[j]))
    d = np.concatenate(diffs)
    if d.shape[0] == 0:
        raise InsufficientData("no pair of models differs in truth on the training tasks")
    return d, np.concatenate(labels)


@register("ranksvm_linear")
def fit_ranksvm_linear(X: npt.ArrayLike, Y: npt.ArrayLike, *, C: float = 1.0) -> LinearScorer:
    """Linear RankSVM on within-task preference pairs; score = w . x."""
    xa, ya = _check_xy(X, Y)
    d, lab = _preference_pairs(xa, ya)
    svm = LinearSVC(C=C, fit_intercept=False, max_iter=20_000).fit(d, lab)
    w = np.asarray(svm.coef_, dtype=np.float64).ravel()
    return LinearScorer(columns=tuple(range(w.size)), weights=tuple(float(v) for v in w))


@register("ranksvm_rbf")
def fit_ranksvm_rbf(
    X: npt.ArrayLike, Y: npt.ArrayLike, *, C: float = 1.0, gamma: float | str = "scale"
) -> PairwiseKernelScorer:
    """RBF SVM on within-task preference pairs; score = summed pairwise preference."""
    xa, ya = _check_xy(X, Y)
    d, lab = _preference_pairs(xa, ya)
    return PairwiseKernelScorer(SVC(kernel="rbf", C=C, gamma=gamma).fit(d, lab))


def single_feature_scorer(column: int, *, sign: float = 1.0) -> FitScorer:
    """A baseline that ignores training and ranks by one feature (``sign=-1``: lower is better).

    For the cross-entropy baseline: ``single_feature_scorer(names.index("xent@uniform"),
    sign=-1.0)``.

    >>> fit = single_feature_scorer(1, sign=-1.0)
    >>> fit(None, None)(np.array([[0.0, 2.0], [0.0, 1.0]])).tolist()
    [-2.0, -1.0]
    """
    if sign not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1, got {sign}")

    def fit(X: Any, Y: Any) -> LinearScorer:
        return LinearScorer(columns=(int(column),), weights=(float(sign),))

    return fit


# --- protocol ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectionResult:
    """Leave-two-tasks-out Spearman of one scorer.

    ``ci`` is a Student-t interval over folds at ``confidence``, clipped to Spearman's range
    [-1, 1]; folds share tasks, so it is indicative rather than exact.
    """

    scorer: str
    mean_spearman: float
    ci: tuple[float, float]
    fold_spearman: tuple[float, ...]
    held_out: tuple[tuple[int, int], ...]
    confidence: float = DEFAULT_CONFIDENCE


def _fold_ci(values: FloatArray, confidence: float) -> tuple[float, float]:
    m = float(values.mean())
    if values.size < 2:
        return (float("nan"), float("nan"))
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, values.size - 1)) * float(
        values.std(ddof=1) / np.sqrt(values.size)
    )
    return (max(-1.0, m - half), min(1.0, m + half))


def leave_two_tasks_out(
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    scorers: Sequence[str] | Mapping[str, FitScorer] = DEFAULT_SCORERS,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, SelectionResult]:
    """Cross-validate scorers, holding out every pair of tasks in turn (needs >= 3 tasks).

    ``scorers`` are registry names, or a mapping of names to fitting functions (e.g. baselines
    from :func:`single_feature_scorer`). Features are z-scored within each task first.
    """
    xa, ya = _check_xy(X, Y)
    n_tasks = xa.shape[0]
    if n_tasks < 3:
        raise ValueError(
            f"leave-two-tasks-out needs at least 3 tasks (one to train on), got {n_tasks}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    fits: dict[str, FitScorer] = (
        dict(scorers) if isinstance(scorers, Mapping) else {n: SCORERS.get(n) for n in scorers}
    )
    if not fits:
        raise ValueError("no scorers given")
    xz = zscore_within_task(xa)
    folds = list(itertools.combinations(range(n_tasks), 2))
    results: dict[str, SelectionResult] = {}
    for name, fit in fits.items():
        per_fold = []
        for held in folds:
            train = [k for k in range(n_tasks) if k not in held]
            scorer = fit(xz[train], ya[train])
            rhos = [float(_rowwise_spearman(np.asarray(scorer(xz[k])), ya[k])) for k in held]
            per_fold.append(float(np.mean(rhos)))
        values = np.array(per_fold)
        results[name] = SelectionResult(
            scorer=name,
            mean_spearman=float(values.mean()),
            ci=_fold_ci(values, confidence),
            fold_spearman=tuple(per_fold),
            held_out=tuple(folds),
            confidence=float(confidence),
        )
    return results
