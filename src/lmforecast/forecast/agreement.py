"""How well a cheap signal ranks models the way ground truth does, with honest uncertainty.

Three measures of agreement across models: Spearman's rho and Kendall's tau-b (scipy.stats) and
pairwise *decision accuracy* (DataDecide): the share of model pairs that the signal orders the
same way as the truth. Decision accuracy is the quantity a user acts on ("is A better than B?").

Uncertainty has two sources. A model's score on a task is the mean over a finite set of
examples, so we bootstrap *examples* (resampling example indices jointly for every model and for
signal and truth alike, which keeps their pairing), recompute every model's mean and each
measure, and take percentile intervals. And the models themselves are one draw from the
population one cares about (another seed trains other models): ``resample="both"`` also draws
the models (rows, jointly in signal and truth) with replacement, independently of the examples
(a two-way bootstrap). Example-only intervals answer "how sure are we about *these* models?";
two-way intervals answer "what would another population like this one give?", and only they
cover the point estimates of a rebuilt population.

Duplicated models: a model drawn twice has identical signal and truth (its examples are the
same draw), so the pair of a model with its own copy is tied in truth and falls out of decision
accuracy and Kendall's tau-b by the tie rule below: decision accuracy becomes the share of
correctly ordered pairs of *distinct* drawn models, each weighted by how often both were drawn.
Spearman is computed on the resampled rows as they are (copies get their average rank), the
usual pairs bootstrap of a correlation. With few models a replicate can hold only copies of one
model (every measure undefined, left out) or two models (Spearman is then +1 or -1), so two-way
intervals of a handful of models are wide: that is the honest answer.

Ties: pairs tied in truth are excluded from decision accuracy (no right answer); a pair tied in
the signal but not in truth counts half (a coin flip would get it right half the time). A
measure that is undefined (a constant signal for Spearman/Kendall, no untied truth pair for
decision accuracy) is ``nan``; bootstrap replicates where it is undefined are left out of the
interval.

>>> rank_agreement([1, 2, 3], [1, 3, 2]).decision_accuracy  # pairs (1,2), (1,3) agree; (2,3) not
0.6666666666666666
>>> rank_agreement([0.1, 0.5, 0.9], [10, 20, 30]).spearman
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import scipy.stats

from lmforecast.forecast.errors import InsufficientData

FloatArray = npt.NDArray[np.float64]
Resample = Literal["examples", "models", "both"]
RESAMPLE_MODES: tuple[Resample, ...] = get_args(Resample)
# What a report says was resampled ("both" draws models and examples).
RESAMPLING_LABELS: dict[str, str] = {
    "examples": "examples",
    "models": "models",
    "both": "models+examples",
}

DEFAULT_N_BOOT = 1000
DEFAULT_CONFIDENCE = 0.95
_MAX_CHUNK_CELLS = 2_000_000  # bound on replicate-chunk memory (cells of float64)


def _vector(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of per-model scores, got shape {arr.shape}")
    if arr.size < 2:
        raise InsufficientData(f"{name} needs at least 2 models to rank, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values (nan or inf)")
    return arr


def _pair(signal: npt.ArrayLike, truth: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    s, t = _vector("signal", signal), _vector("truth", truth)
    if s.shape != t.shape:
        raise ValueError(
            f"signal and truth must score the same models: {s.size} vs {t.size} values"
        )
    return s, t


def _matrix(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a [model, example] matrix, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise InsufficientData(f"{name} needs at least 2 models (rows), got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise InsufficientData(f"{name} needs at least 1 example (column)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values (nan or inf)")
    return arr


def spearman(signal: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """Spearman's rho between per-model vectors (``nan`` if either is constant).

    >>> spearman([3, 2, 1], [1, 2, 3])
    -1.0
    """
    s, t = _pair(signal, truth)
    if np.ptp(s) == 0 or np.ptp(t) == 0:
        return float("nan")
    return float(scipy.stats.spearmanr(s, t).statistic)


def kendall(signal: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """Kendall's tau-b between per-model vectors (``nan`` if either is constant).

    >>> round(kendall([1, 2, 3], [1, 3, 2]), 6)  # (2 concordant - 1 discordant) / 3
    0.333333
    """
    s, t = _pair(signal, truth)
    if np.ptp(s) == 0 or np.ptp(t) == 0:
        return float("nan")
    return float(scipy.stats.kendalltau(s, t).statistic)


def decision_accuracy(signal: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """Share of model pairs ordered the same way by signal and truth (DataDecide).

    Pairs tied in truth are skipped; pairs tied only in the signal count half. ``nan`` when
    every pair is tied in truth.

    >>> decision_accuracy([1, 1, 3], [1, 2, 3])  # (1,2) tied in signal: 1/2; others agree
    0.8333333333333334
    >>> decision_accuracy([1, 2, 3], [5, 5, 9])  # the truth-tied pair (1,2) is excluded
    1.0
    """
    s, t = _pair(signal, truth)
    return float(_rank_stats(s[None, :], t[None, :])[2][0])


@dataclass(frozen=True)
class RankAgreement:
    """Agreement between per-model signal and truth scores, without intervals."""

    spearman: float
    kendall: float
    decision_accuracy: float
    n_models: int


def rank_agreement(signal: npt.ArrayLike, truth: npt.ArrayLike) -> RankAgreement:
    """Spearman, Kendall and decision accuracy of plain per-model vectors (no bootstrap)."""
    s, t = _pair(signal, truth)
    return RankAgreement(
        spearman=spearman(s, t),
        kendall=kendall(s, t),
        decision_accuracy=decision_accuracy(s, t),
        n_models=int(s.size),
    )


@dataclass(frozen=True)
class Agreement:
    """Agreement of a signal with truth across models, with bootstrap intervals.

    ``*_ci`` are percentile intervals at ``confidence``; ``n_boot`` replicates were drawn,
    resampling what ``resample`` names (see :func:`agreement`).
    """

    spearman: float
    spearman_ci: tuple[float, float]
    kendall: float
    kendall_ci: tuple[float, float]
    decision_accuracy: float
    decision_accuracy_ci: tuple[float, float]
    n_models: int
    n_examples: int
    n_boot: int = 0
    confidence: float = DEFAULT_CONFIDENCE
    resample: Resample = "examples"

    @property
    def resampling(self) -> str:
        """What the intervals resampled, as reports write it (``"models+examples"``)."""
        return RESAMPLING_LABELS[self.resample]


def agreement(
    signal: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int | None = 0,
    resample: Resample = "examples",
) -> Agreement:
    """Agreement of ``signal[model, example]`` with ``truth[model, example]``.

    A model's score is its mean over examples. Intervals are percentile intervals of
    ``n_boot`` replicates drawn with ``numpy.random.default_rng(seed)`` (the same seed gives the
    same intervals; ``n_boot=0`` skips the bootstrap and the intervals are ``nan``). Each
    replicate draws, with replacement, what ``resample`` names:

    - ``"examples"`` (default): example indices, the same for every model, in signal and truth;
    - ``"models"``: model rows, the same in signal and truth, every example kept;
    - ``"both"``: both, independently (a two-way bootstrap): use it when the models are one
      draw of many possible ones and the question is about the population they come from.

    Point estimates do not depend on ``resample``. How duplicated models count: module docstring.

    >>> sig = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.4], [0.9, 0.8, 0.7]]
    >>> tru = [[0, 0, 1], [0, 1, 1], [1, 1, 1]]
    >>> a = agreement(sig, tru, n_boot=200, seed=1)
    >>> a.spearman, a.decision_accuracy, a.n_models, a.n_examples
    (1.0, 1.0, 3, 3)
    >>> a.spearman_ci[0] <= a.spearman <= a.spearman_ci[1]
    True
    """
    sig, tru = _matrix("signal", signal), _matrix("truth", truth)
    if sig.shape != tru.shape:
        raise ValueError(
            f"signal and truth must be [model, example] matrices of the same shape, "
            f"got {sig.shape} and {tru.shape}"
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative int, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if resample not in RESAMPLE_MODES:
        raise ValueError(f"resample must be one of {RESAMPLE_MODES}, got {resample!r}")
    s_scores, t_scores = sig.mean(axis=1), tru.mean(axis=1)
    if np.ptp(t_scores) == 0:
        raise InsufficientData(
            "truth is the same for every model: there is no ranking to agree with"
        )
    point = rank_agreement(s_scores, t_scores)
    nan_ci = (float("nan"), float("nan"))
    cis = [nan_ci, nan_ci, nan_ci]
    if n_boot > 0:
        reps = _bootstrap(sig, tru, int(n_boot), np.random.default_rng(seed), resample)
        cis = [_percentile_ci(r, confidence) for r in reps]
    return Agreement(
        spearman=point.spearman,
        spearman_ci=cis[0],
        kendall=point.kendall,
        kendall_ci=cis[1],
        decision_accuracy=point.decision_accuracy,
        decision_accuracy_ci=cis[2],
        n_models=int(sig.shape[0]),
        n_examples=int(sig.shape[1]),
        n_boot=int(n_boot),
        confidence=float(confidence),
        resample=resample,
    )


def _percentile_ci(values: FloatArray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def _bootstrap(
    sig: FloatArray,
    tru: FloatArray,
    n_boot: int,
    rng: np.random.Generator,
    resample: Resample = "examples",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Spearman, Kendall and decision accuracy for ``n_boot`` resamples.

    Replicates are built in chunks so that memory stays near ``_MAX_CHUNK_CELLS`` floats
    whatever ``n_boot`` is. Model rows are drawn after the means over (resampled) examples are
    taken: drawing rows of the matrices first would give the same replicate at more cost.
    """
    n_models, n_ex = sig.shape
    per_rep = max(n_ex, n_models * n_models)
    chunk = max(1, min(n_boot, _MAX_CHUNK_CELLS // per_rep))
    s_all, t_all = sig.mean(axis=1), tru.mean(axis=1)
    out: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        if resample == "models":
            s_rep = np.broadcast_to(s_all, (b, n_models))
            t_rep = np.broadcast_to(t_all, (b, n_models))
        else:
            idx = rng.integers(0, n_ex, size=(b, n_ex))
            # counts[r, e] = how often example e is drawn in replicate r; means via one matmul.
            offsets = (np.arange(b) * n_ex)[:, None]
            counts = np.bincount((idx + offsets).ravel(), minlength=b * n_ex).reshape(b, n_ex)
            s_rep = counts @ sig.T / n_ex  # (b, n_models)
            t_rep = counts @ tru.T / n_ex
        if resample != "examples":
            rows = rng.integers(0, n_models, size=(b, n_models))
            s_rep = np.take_along_axis(s_rep, rows, axis=1)  # the same rows in signal and truth
            t_rep = np.take_along_axis(t_rep, rows, axis=1)
        out.append(_rank_stats(s_rep, t_rep))
        done += b
    return (
        np.concatenate([o[0] for o in out]),
        np.concatenate([o[1] for o in out]),
        np.concatenate([o[2] for o in out]),
    )


def _rowwise_pearson(a: FloatArray, b: FloatArray) -> FloatArray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    num = (a * b).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def _rank_stats(s: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Row-wise Spearman, Kendall tau-b and decision accuracy of ``s[rep, model]`` vs ``t``.

    Vectorised over replicates; agrees with scipy.stats on each row (see the tests).
    """
    rho = _rowwise_pearson(
        scipy.stats.rankdata(s, axis=1).astype(np.float64),
        scipy.stats.rankdata(t, axis=1).astype(np.float64),
    )
    iu = np.triu_indices(s.shape[1], k=1)
    ds = np.sign(s[:, :, None] - s[:, None, :])[:, iu[0], iu[1]]  # (rep, pairs)
    dt = np.sign(t[:, :, None] - t[:, None, :])[:, iu[0], iu[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt((ds * ds).sum(axis=1) * (dt * dt).sum(axis=1))
        tau = np.where(denom > 0, (ds * dt).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)
        untied = dt != 0
        credit = np.where(ds == dt, 1.0, np.where(ds == 0, 0.5, 0.0)) * untied
        n_untied = untied.sum(axis=1)
        acc = np.where(n_untied > 0, credit.sum(axis=1) / np.maximum(n_untied, 1), np.nan)
    return rho, tau, acc
