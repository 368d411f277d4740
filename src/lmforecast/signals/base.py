"""The Signal contract: one cheap number per request, aggregated per task, oriented.

A *signal* turns one model's stored scores on one task (:class:`TaskScores`: the engine's
per-token statistics, and what else the signal declared it needs) into one value per request,
and those into one value per task. Every signal family (Patel et al.'s token-level proxies,
request metrics, rBridge, RuDE, probes) registers its signals here, in :data:`SIGNALS`, with
its orientation, so experiments, the CLI (``lmforecast signals``) and reports handle them all
alike.

Adding a signal is one new module in this package (it is found by :data:`SIGNALS` on its own)::

    from lmforecast.signals.base import TaskScores, signal

    @signal("tail_xent", higher_is_better=False, description="mean -log p of the last 8 tokens")
    def tail_xent(scores: TaskScores) -> np.ndarray:
        return np.array([-r.logprob[-8:].mean() for r in scores.records])

>>> s = Signal("toy", "examples", True, lambda scores: np.array([1.0, 2.0, 4.0]))
>>> s.task_value(np.array([1.0, 2.0, 4.0])), s.sign
(2.3333333333333335, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lmforecast.core.registry import Registry
from lmforecast.signals.token_record import TokenRecord, token_records

FloatArray = npt.NDArray[np.float64]
V = TypeVar("V")

DEFAULT_LAST_N_TOKENS = 1000  # Patel et al. scored the last 1,000 tokens of each trajectory
DEFAULT_EPS = 1e-6


@dataclass(frozen=True)
class Needs:
    """What a signal needs from the engine's one pass over a task (beyond nothing at all).

    The engine always stores per-token statistics; ``hidden_layers`` asks it to pool hidden
    states of those layers; ``token_weights`` says that per-token weights ride with the
    requests (rBridge's frontier confidences).
    """

    token_statistics: bool = True
    hidden_layers: tuple[int, ...] = ()
    token_weights: bool = False


@dataclass(frozen=True)
class SignalOptions:
    """Options that change signal values (so they belong to any cache key of signal values)."""

    last_n_tokens: int | None = DEFAULT_LAST_N_TOKENS
    eps: float = DEFAULT_EPS


class TaskScores:
    """One model's stored scores on one task: the input of every signal.

    Signals of one family often share an expensive intermediate (the 80 proxies share one
    statistic x weighting matrix per request); :meth:`shared` computes it once per
    ``TaskScores`` and hands the same object to every signal that asks.
    """

    def __init__(
        self, table: pa.Table, vocab_size: int, options: SignalOptions | None = None
    ) -> None:
        self.table = table
        self.vocab_size = int(vocab_size)
        self.options = options or SignalOptions()
        self._shared: dict[str, Any] = {}

    @cached_property
    def records(self) -> list[TokenRecord]:
        """Per-token records, one per request in table order."""
        return token_records(self.table, self.vocab_size)

    def shared(self, key: str, compute: Callable[[TaskScores], V]) -> V:
        """``compute(self)``, computed once per key and reused by every later caller."""
        if key not in self._shared:
            self._shared[key] = compute(self)
        return self._shared[key]  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return int(self.table.num_rows)


def sequential_mean(values: npt.ArrayLike) -> float:
    """Mean with left-to-right summation.

    Written out because numpy's pairwise ``mean`` differs in the last bit, and near-tied models
    then swap places in rank statistics; every stored proxy value was computed this way.

    >>> sequential_mean([0.1, 0.2, 0.3])
    0.20000000000000004
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("a task value needs at least one request value")
    return float(np.cumsum(x)[-1] / x.size)


def numpy_mean(values: npt.ArrayLike) -> float:
    """numpy's (pairwise) mean: the aggregate of the request metrics."""
    return float(np.mean(np.asarray(values, dtype=np.float64)))


@dataclass(frozen=True)
class Signal:
    """A named, oriented signal: per-request values from :class:`TaskScores`, a task value."""

    name: str
    family: str
    higher_is_better: bool
    per_request: Callable[[TaskScores], FloatArray] = field(repr=False)
    needs: Needs = Needs()
    description: str = ""
    aggregate: Callable[[FloatArray], float] = field(default=sequential_mean, repr=False)

    @property
    def sign(self) -> float:
        """+1.0 if a larger value means a better model, else -1.0 (orient before ranking)."""
        return 1.0 if self.higher_is_better else -1.0

    def request_values(self, scores: TaskScores) -> FloatArray:
        values = np.asarray(self.per_request(scores), dtype=np.float64)
        if values.shape != (len(scores),):
            raise ValueError(
                f"signal {self.name!r} returned shape {values.shape}, "
                f"expected one value per request ({len(scores)})"
            )
        return values

    def task_value(self, values: npt.ArrayLike) -> float:
        return self.aggregate(np.asarray(values, dtype=np.float64))


SIGNALS: Registry[Signal] = Registry("signal", packages=("lmforecast.signals",))
"""Every signal by name; the modules of this package register theirs when first asked."""


def register_signal(sig: Signal) -> Signal:
    """Add a built signal to :data:`SIGNALS` (for families that make signals in a loop)."""
    return SIGNALS.register(sig.name)(sig)


def signal(
    name: str,
    *,
    higher_is_better: bool,
    family: str | None = None,
    needs: Needs | None = None,
    description: str = "",
    aggregate: Callable[[FloatArray], float] = sequential_mean,
) -> Callable[[Callable[[TaskScores], FloatArray]], Callable[[TaskScores], FloatArray]]:
    """Decorator: register ``fn(scores) -> one value per request`` as a signal."""

    def decorator(fn: Callable[[TaskScores], FloatArray]) -> Callable[[TaskScores], FloatArray]:
        module = fn.__module__.rsplit(".", 1)[-1]
        register_signal(
            Signal(
                name,
                family or module,
                higher_is_better,
                fn,
                needs or Needs(),
                description or (fn.__doc__ or "").strip().split("\n")[0],
                aggregate,
            )
        )
        return fn

    return decorator


def get_signal(name: str) -> Signal:
    return SIGNALS.get(name)


def all_signals(family: str | None = None) -> list[Signal]:
    """Every registered signal (of one family), in name order."""
    signals = [SIGNALS.get(n) for n in SIGNALS.names()]
    return [s for s in signals if family is None or s.family == family]


def orientation(name: str) -> float:
    """+1.0 / -1.0 for a registered signal: the one orientation table of the project."""
    return SIGNALS.get(name).sign


def compute_signals(scores: TaskScores, signals: list[Signal]) -> dict[str, FloatArray]:
    """Per-request values of several signals over the same scores (shared intermediates once)."""
    return {s.name: s.request_values(scores) for s in signals}
