"""rBridge's tokenizer-independent weights and scores: pure functions, checked by hand in tests.

The frontier and the proxy split a trace into different tokens, so weights pass through the
one unit both share, the character (Koh et al., Eq. 1 and Alg. 1):

1. Each character gets ``p = exp(logprob)`` of the frontier token that contains it
   (:func:`char_probabilities`).
2. Each proxy token's raw weight is the mean over the characters it covers, taken from the
   proxy tokenizer's offset mapping (:func:`proxy_token_weights`; the engine applies the same
   function, :func:`lmforecast.engine.encode.span_means`, while it encodes the requests, so the
   weights ride with the requests through its one pass). A byte-level proxy piece that is part
   of a multi-byte character ("é", "→") has offsets spanning that whole character and so gets
   its probability; a token covering no trace character (a BOS, zero-width) gets NaN and is
   left out of every score, weighted or plain.
3. MinMax normalisation, ``(w - min) / (max - min)``, per trace (the published algorithm) or
   over every token of the task (``minmax="task"``, a draft's variant). When max == min there
   is nothing to tell tokens apart by, and every weight becomes 1: the score is then the plain
   NLL, the limit of an uninformative weighting (0/0 has no value of its own).
4. Trace score = mean over its proxy tokens of ``-log p_proxy * w``; task score = mean over
   traces. Plain NLL over the same tokens is the ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from lmforecast.engine.encode import span_means

FloatArray = npt.NDArray[np.float64]
MinMaxScope = Literal["trace", "task"]
MINMAX_SCOPES: tuple[MinMaxScope, ...] = ("trace", "task")


def char_probabilities(tokens: Sequence[tuple[str, float]]) -> tuple[float, ...]:
    """One probability per character: ``exp(logprob)`` of the frontier token holding it.

    >>> [round(p, 3) for p in char_probabilities([("ab", np.log(0.5)), ("", -1.0), ("é", 0.0)])]
    [0.5, 0.5, 1.0]
    """
    out: list[float] = []
    for text, logprob in tokens:
        out.extend([float(np.exp(logprob))] * len(text))
    return tuple(out)


def proxy_token_weights(
    char_p: Sequence[float], offsets: Sequence[tuple[int, int]], start: int = 0
) -> FloatArray:
    """Raw weight per proxy token: mean ``char_p`` over its characters (NaN: covers none).

    ``offsets`` are the proxy tokenizer's ``(start, end)`` character offsets in a string whose
    character ``start + i`` is trace character ``i``.
    """
    return np.array(span_means(offsets, char_p, start), dtype=np.float64)


def minmax(weights: npt.ArrayLike) -> FloatArray:
    """``(w - min) / (max - min)`` over the finite entries; NaN stays NaN; all ones if
    max == min (see the module docstring).

    >>> minmax([0.5, 1.0, np.nan, 0.75]).tolist()
    [0.0, 1.0, nan, 0.5]
    >>> minmax([0.3, 0.3]).tolist()
    [1.0, 1.0]
    """
    w = np.asarray(weights, dtype=np.float64)
    finite = np.isfinite(w)
    if not finite.any():
        raise ValueError("no token carries a weight (none covers a character of the trace)")
    lo, hi = float(w[finite].min()), float(w[finite].max())
    return _scale(w, lo, hi)


def _scale(w: FloatArray, lo: float, hi: float) -> FloatArray:
    if hi == lo:
        return np.where(np.isfinite(w), 1.0, np.nan)
    return (w - lo) / (hi - lo)


def normalise(weights: Sequence[npt.ArrayLike], scope: MinMaxScope = "trace") -> list[FloatArray]:
    """MinMax every trace's raw token weights, each on its own (``"trace"``) or all against
    the task's min and max (``"task"``).

    >>> [w.tolist() for w in normalise([[0.5, 1.5], [1.0, 2.5]], "task")]
    [[0.0, 0.5], [0.25, 1.0]]
    """
    if scope not in MINMAX_SCOPES:
        raise ValueError(f"minmax scope must be 'trace' or 'task', got {scope!r}")
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    if scope == "trace":
        return [minmax(w) for w in arrays]
    pooled = np.concatenate(arrays) if arrays else np.array([])
    finite = pooled[np.isfinite(pooled)]
    if finite.size == 0:
        raise ValueError("no token of the task carries a weight")
    lo, hi = float(finite.min()), float(finite.max())
    return [_scale(w, lo, hi) for w in arrays]


def _nll_and_mask(logprob: npt.ArrayLike, weights: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lp = np.asarray(logprob, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if lp.shape != w.shape or lp.ndim != 1:
        raise ValueError(f"logprob and weights must be 1-D of one length: {lp.shape}, {w.shape}")
    keep = np.isfinite(w)
    if not keep.any():
        raise ValueError("no token carries a weight (none covers a character of the trace)")
    return -lp[keep], w[keep]


def weighted_nll(logprob: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """rBridge score of one trace: mean over weighted tokens of ``-log p * w``.

    >>> weighted_nll(np.log([0.5, 0.25, 1.0]), [1.0, 0.5, np.nan])  # (ln 2 + ln 4 / 2) / 2
    0.6931471805599453
    """
    nll, w = _nll_and_mask(logprob, weights)
    return float(np.mean(nll * w))


def plain_nll(logprob: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """The ablation: mean ``-log p`` over the same tokens (those with a weight)."""
    nll, _ = _nll_and_mask(logprob, weights)
    return float(np.mean(nll))


def rbridge_scores(
    logprobs: Sequence[npt.ArrayLike],
    raw_weights: Sequence[npt.ArrayLike],
    minmax: MinMaxScope = "trace",
) -> FloatArray:
    """rBridge score per trace from proxy log-probs and raw (un-normalised) token weights."""
    if len(logprobs) != len(raw_weights):
        raise ValueError(f"{len(logprobs)} log-prob arrays for {len(raw_weights)} weight arrays")
    normed = normalise(raw_weights, minmax)
    return np.array([weighted_nll(lp, w) for lp, w in zip(logprobs, normed, strict=True)])


def plain_nll_scores(
    logprobs: Sequence[npt.ArrayLike], raw_weights: Sequence[npt.ArrayLike]
) -> FloatArray:
    """Plain NLL per trace over the tokens rBridge weighs (the ablation signal)."""
    return np.array([plain_nll(lp, w) for lp, w in zip(logprobs, raw_weights, strict=True)])
