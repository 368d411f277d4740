"""Token-level proxy metrics per request and per task (Patel et al.'s raw statistics).

Per request: sum and mean log-prob, cross-entropy, bits per byte, mean entropy, mean log-rank,
top-1/5/10 accuracy. Per task: the mean over requests with a bootstrap confidence interval
(resampling requests: the noise that matters when comparing models on a finite task).
The 80 weighted proxies of METHODS.md live in :mod:`lmforecast.signals.proxies`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lmforecast.signals.base import FloatArray, Signal, TaskScores, numpy_mean, register_signal

REQUEST_METRICS = (
    "logprob",
    "logprob_mean",
    "cross_entropy",
    "bits_per_byte",
    "entropy_mean",
    "logrank_mean",
    "top1",
    "top5",
    "top10",
)

# Orientation of each metric, registered with its signal below (read it with
# ``lmforecast.signals.base.orientation``).
_HIGHER_IS_BETTER = {
    "logprob": True,
    "logprob_mean": True,
    "cross_entropy": False,
    "bits_per_byte": False,
    "entropy_mean": False,
    "logrank_mean": False,
    "top1": True,
    "top5": True,
    "top10": True,
}


def request_metrics(
    logprob: np.ndarray, entropy: np.ndarray, rank: np.ndarray, num_bytes: int
) -> dict[str, float]:
    """Aggregates of one request's per-token statistics.

    >>> m = request_metrics(np.log([0.5, 0.25]), np.array([1.0, 2.0]), np.array([1, 6]), 2)
    >>> round(m["cross_entropy"], 4), m["top1"], m["top5"], m["top10"]
    (1.0397, 0.5, 0.5, 1.0)
    >>> round(m["bits_per_byte"], 4)  # (ln 2 + ln 4) / ln 2 / 2 bytes
    1.5
    """
    if logprob.size == 0:
        raise ValueError("a request needs at least one scored token")
    total = float(np.sum(logprob, dtype=np.float64))
    rank = rank.astype(np.float64)
    return {
        "logprob": total,
        "logprob_mean": total / logprob.size,
        "cross_entropy": -total / logprob.size,
        "bits_per_byte": -total / math.log(2) / max(num_bytes, 1),
        "entropy_mean": float(np.mean(entropy, dtype=np.float64)),
        "logrank_mean": float(np.mean(np.log(rank))),
        "top1": float(np.mean(rank <= 1)),
        "top5": float(np.mean(rank <= 5)),
        "top10": float(np.mean(rank <= 10)),
    }


def _request_rows(table: pa.Table) -> list[dict[str, float]]:
    return [
        request_metrics(
            np.asarray(lp, dtype=np.float64),
            np.asarray(ent, dtype=np.float64),
            np.asarray(rk),
            int(nb),
        )
        for lp, ent, rk, nb in zip(
            table.column("tok_logprob").to_pylist(),
            table.column("tok_entropy").to_pylist(),
            table.column("tok_rank").to_pylist(),
            table.column("num_bytes").to_pylist(),
            strict=True,
        )
    ]


def add_request_metrics(table: pa.Table) -> pa.Table:
    """The stored score table with one column per request metric appended (recomputed from
    the per-token columns, so the definitions live in one place)."""
    rows = _request_rows(table)
    for name in REQUEST_METRICS:
        if name == "logprob":
            continue  # already stored (float64 sum)
        table = table.append_column(name, pa.array([r[name] for r in rows], pa.float64()))
    return table


@dataclass(frozen=True)
class TaskMetric:
    """A task-level metric: the mean over requests with a bootstrap percentile interval."""

    name: str
    value: float
    ci_low: float
    ci_high: float
    n: int


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap over the values.

    >>> mean, lo, hi = bootstrap_mean_ci([1.0, 2.0, 3.0, 4.0])
    >>> mean, lo <= mean <= hi
    (2.5, True)
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    return mean, float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


def task_metrics(
    table: pa.Table, confidence: float = 0.95, resamples: int = 1000, seed: int = 0
) -> dict[str, TaskMetric]:
    """Per-task proxy metrics (mean over requests) with bootstrap CIs.

    ``table`` is a score table with request-metric columns (see :func:`add_request_metrics`).
    """
    if "cross_entropy" not in table.column_names:
        table = add_request_metrics(table)
    out = {}
    for name in REQUEST_METRICS:
        values = table.column(name).to_numpy()
        mean, lo, hi = bootstrap_mean_ci(values, confidence, resamples, seed)
        out[name] = TaskMetric(name, mean, lo, hi, int(values.size))
    return out


def _request_metric(name: str) -> Callable[[TaskScores], FloatArray]:
    def per_request(scores: TaskScores) -> FloatArray:
        rows = scores.shared("tokenstats.rows", lambda s: _request_rows(s.table))
        return np.array([r[name] for r in rows], dtype=np.float64)

    return per_request


_DESCRIPTIONS = {
    "logprob": "sum of log p over the continuation (nats)",
    "logprob_mean": "mean log p per continuation token",
    "cross_entropy": "mean -log p per continuation token (nats)",
    "bits_per_byte": "-log2 p of the continuation per UTF-8 byte",
    "entropy_mean": "mean entropy of the next-token distribution (nats)",
    "logrank_mean": "mean log rank of the target token",
    "top1": "share of tokens where the target is the arg-max",
    "top5": "share of tokens where the target is in the top 5",
    "top10": "share of tokens where the target is in the top 10",
}

for _name in REQUEST_METRICS:
    register_signal(
        Signal(
            _name,
            "tokenstats",
            _HIGHER_IS_BETTER[_name],
            _request_metric(_name),
            description=_DESCRIPTIONS[_name],
            aggregate=numpy_mean,
        )
    )
