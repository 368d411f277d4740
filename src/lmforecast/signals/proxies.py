"""Token-level proxy metrics on expert solutions (Patel et al., 2026; METHODS.md section 1).

One teacher-forced pass of a candidate model over an expert solution leaves, at every
continuation token, a handful of numbers (log p of the expert token, the entropy of the
next-token distribution, the expert token's rank, the top-1 probability). Everything here is
recomputed from those per-token records, so all 80 proxies cost no further forward pass.

A proxy is ``statistic@weighting``: ten per-token statistics, each averaged over the tokens of an
instance with one of eight token weightings, ``s_i = sum_t w_t stat_t / sum_t w_t``, then averaged
over the instances of a task.

Worked example (hand-checked): three tokens with p(y) = 1/2, 1/4, 1/8 at ranks 1, 2, 3.

>>> import numpy as np
>>> rec = TokenRecord(
...     logprob=np.log([0.5, 0.25, 0.125]),
...     entropy=[0.7, 1.0, 1.2],
...     rank=[1, 2, 3],
...     top1_prob=[0.5, 0.5, 0.5],
...     target_ids=[7, 8, 7],
...     vocab_size=16,
... )
>>> p = instance_proxies(rec)
>>> round(p["top1@uniform"], 6)  # one hit in three tokens
0.333333
>>> round(p["top1@prob"], 6)  # (1/2) / (1/2 + 1/4 + 1/8) = 4/7
0.571429
>>> round(p["recip_rank@prob"], 6)  # (1/2 + 1/4 * 1/2 + 1/8 * 1/3) / (7/8) = 16/21
0.761905
>>> round(p["wrong_conf@uniform"], 6)  # (0 + 1/2 + 1/2) / 3
0.333333
>>> round(p["top2@freq"], 6)  # token 7 occurs twice, 8 once: (2/3 + 1/3) / (2/3 + 1/3 + 2/3)
0.6
>>> len(p), len(proxy_names())
(80, 80)

Signs: for ``xent``, ``norm_entropy``, ``rank``, ``margin`` and ``wrong_conf`` *lower* is
better; for the top-k hits and ``recip_rank`` higher is better. :data:`HIGHER_IS_BETTER` says so
per statistic so that scorers can orient a proxy before ranking models with it.

Choices where the paper is silent (METHODS.md, marked [choice]): token frequencies are unigram
counts of target ids over the task's expert solutions (over the same last-``n`` tokens that are
scored); the Gaussian kernel is centred on the instance's mean cross-entropy with its standard
deviation as width (floored at ``eps``); inverse entropy is ``1 / (H + eps)``. When the weights of
an instance sum to zero (e.g. ``one_minus_prob`` on a model that is certain of every token) the
weighted mean is undefined and we take its limit for vanishing uniform smoothing: the plain mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from lmforecast.core.registry import Registry
from lmforecast.signals.base import (
    DEFAULT_EPS,
    DEFAULT_LAST_N_TOKENS,
    Signal,
    TaskScores,
    register_signal,
)
from lmforecast.signals.token_record import FloatArray, TokenRecord

STATISTICS: tuple[str, ...] = (
    "xent",
    "top1",
    "top2",
    "top3",
    "top5",
    "norm_entropy",
    "rank",
    "recip_rank",
    "margin",
    "wrong_conf",
)
"""The ten per-token statistics, in a fixed order (the row order of every proxy matrix)."""

WEIGHTINGS: tuple[str, ...] = (
    "uniform",
    "prob",
    "one_minus_prob",
    "entropy",
    "inv_entropy",
    "freq",
    "inv_freq",
    "gauss_xent",
)
"""The eight token weightings, in a fixed order."""

HIGHER_IS_BETTER: dict[str, bool] = {
    "xent": False,
    "top1": True,
    "top2": True,
    "top3": True,
    "top5": True,
    "norm_entropy": False,
    "rank": False,
    "recip_rank": True,
    "margin": False,
    "wrong_conf": False,
}
"""Per statistic: does a larger value mean a better model? (Weightings do not change the sign.)"""


def proxy_names() -> list[str]:
    """The 80 proxy names ``"statistic@weighting"``, statistic-major.

    >>> names = proxy_names()
    >>> names[0], names[7], names[8], "top5@freq" in names
    ('xent@uniform', 'xent@gauss_xent', 'top1@uniform', True)
    """
    return [f"{s}@{w}" for s in STATISTICS for w in WEIGHTINGS]


def split_proxy_name(name: str) -> tuple[str, str]:
    """``"top5@freq"`` -> ``("top5", "freq")``, with a clear error for an unknown name.

    >>> split_proxy_name("margin@inv_entropy")
    ('margin', 'inv_entropy')
    """
    stat, sep, weight = name.partition("@")
    if not sep or stat not in STATISTICS or weight not in WEIGHTINGS:
        raise ValueError(
            f"unknown proxy {name!r}: expected 'statistic@weighting' with statistic in "
            f"{', '.join(STATISTICS)} and weighting in {', '.join(WEIGHTINGS)}"
        )
    return stat, weight


def proxy_sign(name: str) -> float:
    """+1.0 if a larger value of the proxy means a better model, else -1.0.

    >>> proxy_sign("xent@uniform"), proxy_sign("top5@freq")
    (-1.0, 1.0)
    """
    stat, _ = split_proxy_name(name)
    return 1.0 if HIGHER_IS_BETTER[stat] else -1.0


# --- statistics -------------------------------------------------------------------------------

STATISTIC_REGISTRY: Registry[Callable[[TokenRecord], FloatArray]] = Registry("token statistic")
"""Per-token statistics: ``factory(record) -> array over tokens``."""


@STATISTIC_REGISTRY.register("xent")
def _xent(rec: TokenRecord) -> FloatArray:
    return -rec.logprob


def _top_k(k: int) -> None:
    @STATISTIC_REGISTRY.register(f"top{k}")
    def _hit(rec: TokenRecord) -> FloatArray:
        return (rec.rank <= k).astype(np.float64)


for _k in (1, 2, 3, 5):
    _top_k(_k)


@STATISTIC_REGISTRY.register("norm_entropy")
def _norm_entropy(rec: TokenRecord) -> FloatArray:
    return rec.entropy / np.log(rec.vocab_size)


@STATISTIC_REGISTRY.register("rank")
def _rank(rec: TokenRecord) -> FloatArray:
    return rec.rank.astype(np.float64)


@STATISTIC_REGISTRY.register("recip_rank")
def _recip_rank(rec: TokenRecord) -> FloatArray:
    return 1.0 / rec.rank.astype(np.float64)


@STATISTIC_REGISTRY.register("margin")
def _margin(rec: TokenRecord) -> FloatArray:
    # Clipped at 0: a float32 engine can report top1_prob a hair below p(y) at the argmax.
    return np.maximum(rec.top1_prob - np.exp(rec.logprob), 0.0)


@STATISTIC_REGISTRY.register("wrong_conf")
def _wrong_conf(rec: TokenRecord) -> FloatArray:
    return np.where(rec.rank > 1, rec.top1_prob, 0.0)


# --- weightings -------------------------------------------------------------------------------

WEIGHTING_REGISTRY: Registry[Callable[..., FloatArray]] = Registry("token weighting")
"""Token weightings: ``factory(record, freq, eps) -> non-negative array over tokens``, where
``freq`` is the relative unigram frequency of each target token within the task."""


@WEIGHTING_REGISTRY.register("uniform")
def _w_uniform(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return np.ones(len(rec))


@WEIGHTING_REGISTRY.register("prob")
def _w_prob(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return np.exp(rec.logprob)


@WEIGHTING_REGISTRY.register("one_minus_prob")
def _w_one_minus_prob(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return np.maximum(-np.expm1(rec.logprob), 0.0)  # 1 - p(y), accurate when p(y) is near 1


@WEIGHTING_REGISTRY.register("entropy")
def _w_entropy(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return np.maximum(rec.entropy, 0.0)


@WEIGHTING_REGISTRY.register("inv_entropy")
def _w_inv_entropy(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return 1.0 / (np.maximum(rec.entropy, 0.0) + eps)


@WEIGHTING_REGISTRY.register("freq")
def _w_freq(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return freq


@WEIGHTING_REGISTRY.register("inv_freq")
def _w_inv_freq(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    return 1.0 / freq


@WEIGHTING_REGISTRY.register("gauss_xent")
def _w_gauss_xent(rec: TokenRecord, freq: FloatArray, eps: float) -> FloatArray:
    xent = -rec.logprob
    sigma = max(float(np.std(xent)), eps)
    return np.exp(-((xent - xent.mean()) ** 2) / (2.0 * sigma**2))


if set(STATISTIC_REGISTRY.names()) != set(STATISTICS) or set(WEIGHTING_REGISTRY.names()) != set(
    WEIGHTINGS
):  # pragma: no cover - a guard against editing one list and not the other
    raise RuntimeError("proxy registries and STATISTICS/WEIGHTINGS disagree")


# --- aggregation ------------------------------------------------------------------------------


def count_target_tokens(
    instances: Iterable[TokenRecord], *, last_n_tokens: int | None = DEFAULT_LAST_N_TOKENS
) -> Counter[int]:
    """Unigram counts of the target ids over a task's expert solutions (the scored tokens).

    >>> r = TokenRecord([-0.1, -0.2], [1.0, 1.0], [1, 1], [0.95, 0.95], [5, 6], vocab_size=10)
    >>> sorted(count_target_tokens([r, r], last_n_tokens=1).items())
    [(6, 2)]
    """
    counts: Counter[int] = Counter()
    for rec in instances:
        counts.update(int(i) for i in rec.tail(last_n_tokens).target_ids)
    return counts


def _relative_freq(rec: TokenRecord, token_counts: Mapping[int, int]) -> FloatArray:
    total = float(sum(token_counts.values()))
    counts = np.array([token_counts.get(int(i), 0) for i in rec.target_ids], dtype=np.float64)
    if total <= 0 or np.any(counts <= 0):
        missing = sorted({int(i) for i in rec.target_ids if token_counts.get(int(i), 0) <= 0})
        raise ValueError(
            f"token_counts has no positive count for target id(s) {missing[:5]}; build the counts "
            "over the same instances and tokens that are scored (see count_target_tokens)"
        )
    return counts / total


def _proxy_matrix(rec: TokenRecord, token_counts: Mapping[int, int], eps: float) -> FloatArray:
    """Proxies of one (already truncated) instance as a [statistic, weighting] matrix."""
    freq = _relative_freq(rec, token_counts)
    stats = np.stack([STATISTIC_REGISTRY.get(s)(rec) for s in STATISTICS])  # (S, T)
    weights = np.stack([WEIGHTING_REGISTRY.get(w)(rec, freq, eps) for w in WEIGHTINGS])  # (W, T)
    totals = weights.sum(axis=1)
    degenerate = ~(totals > 0)
    weights[degenerate] = 1.0  # all-zero weights: limit of uniform smoothing -> plain mean
    totals[degenerate] = len(rec)
    return np.asarray((stats @ weights.T) / totals, dtype=np.float64)


def _check_eps(eps: float) -> float:
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite float, got {eps!r}")
    return float(eps)


def _as_dict(matrix: FloatArray) -> dict[str, float]:
    return {
        f"{s}@{w}": float(matrix[i, j])
        for i, s in enumerate(STATISTICS)
        for j, w in enumerate(WEIGHTINGS)
    }


def instance_proxies(
    record: TokenRecord,
    token_counts: Mapping[int, int] | None = None,
    *,
    last_n_tokens: int | None = DEFAULT_LAST_N_TOKENS,
    eps: float = DEFAULT_EPS,
) -> dict[str, float]:
    """All 80 proxies of one instance (one model, one expert solution).

    ``token_counts`` are the task-level target-token counts used by ``freq``/``inv_freq``; when
    ``None`` they are counted over this instance alone (a task of one). ``last_n_tokens`` keeps
    only the last tokens of the solution before anything else is computed.
    """
    if not isinstance(record, TokenRecord):
        raise ValueError(f"record must be a TokenRecord, got {type(record).__name__}")
    eps = _check_eps(eps)
    rec = record.tail(last_n_tokens)
    counts = (
        count_target_tokens([rec], last_n_tokens=None) if token_counts is None else token_counts
    )
    return _as_dict(_proxy_matrix(rec, counts, eps))


def task_proxies(
    instances: Sequence[TokenRecord],
    token_counts: Mapping[int, int] | None = None,
    *,
    last_n_tokens: int | None = DEFAULT_LAST_N_TOKENS,
    eps: float = DEFAULT_EPS,
) -> dict[str, float]:
    """All 80 proxies of one model on one task: the mean over instances of each instance proxy.

    Instances are weighted equally whatever their length (a long solution does not dominate).
    ``token_counts`` default to the counts over these instances' scored tokens; pass counts built
    once per task when several models are scored on the same expert solutions (they are the
    same for every model, since they depend on the expert tokens only).

    >>> a = TokenRecord([0.0], [0.0], [1], [1.0], [3], vocab_size=8)
    >>> b = TokenRecord([np.log(0.5)], [0.5], [2], [0.5], [4], vocab_size=8)
    >>> p = task_proxies([a, b])
    >>> p["top1@uniform"], p["wrong_conf@uniform"]
    (0.5, 0.25)
    """
    if isinstance(instances, TokenRecord) or len(instances) == 0:
        raise ValueError("task_proxies needs a non-empty sequence of TokenRecord instances")
    for i, rec in enumerate(instances):
        if not isinstance(rec, TokenRecord):
            raise ValueError(f"instances[{i}] is a {type(rec).__name__}, not a TokenRecord")
    eps = _check_eps(eps)
    tails = [rec.tail(last_n_tokens) for rec in instances]
    counts = (
        count_target_tokens(tails, last_n_tokens=None) if token_counts is None else token_counts
    )
    total = np.zeros((len(STATISTICS), len(WEIGHTINGS)))
    for rec in tails:
        total += _proxy_matrix(rec, counts, eps)
    return _as_dict(total / len(tails))


def proxy_vector(proxies: Mapping[str, float], names: Sequence[str] | None = None) -> FloatArray:
    """A proxy dict as a vector in :func:`proxy_names` order (the last axis of a feature tensor).

    >>> v = proxy_vector({n: float(i) for i, n in enumerate(proxy_names())})
    >>> v.shape, v[3]
    ((80,), np.float64(3.0))
    """
    order = proxy_names() if names is None else list(names)
    missing = [n for n in order if n not in proxies]
    if missing:
        raise ValueError(f"proxies lack {len(missing)} name(s), e.g. {missing[:3]}")
    return np.array([proxies[n] for n in order], dtype=np.float64)


# --- the 80 proxies as signals --------------------------------------------------------------
def instance_matrices(scores: TaskScores) -> FloatArray:
    """[request, statistic, weighting] proxies of every request (token counts over the task)."""
    n, eps = scores.options.last_n_tokens, _check_eps(scores.options.eps)
    tails = [rec.tail(n) for rec in scores.records]
    counts = count_target_tokens(tails, last_n_tokens=None)
    return np.stack([_proxy_matrix(rec, counts, eps) for rec in tails])


def _proxy_signal(i: int, j: int) -> Callable[[TaskScores], FloatArray]:
    def per_request(scores: TaskScores) -> FloatArray:
        return scores.shared("proxies.instance_matrices", instance_matrices)[:, i, j]

    return per_request


for _i, _stat in enumerate(STATISTICS):
    for _j, _weight in enumerate(WEIGHTINGS):
        register_signal(
            Signal(
                f"{_stat}@{_weight}",
                "proxies",
                HIGHER_IS_BETTER[_stat],
                _proxy_signal(_i, _j),
                description=f"Patel et al.: per-token {_stat}, {_weight}-weighted mean",
            )
        )
