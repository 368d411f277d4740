"""Signals inside a training loop: score the live model on a fixed request set, store, return.

A training run that wants to watch its cheap proxies (Patel's token proxies, request metrics)
should not save a checkpoint and load it back to score it: :func:`evaluate_in_training` wraps
the ``nn.Module`` being trained as a :class:`LoadedModel`, scores the requests with the same
engine and the same signal code as ``lmforecast score`` / the experiments (so the values equal
those of the saved checkpoint, to float32 noise), and puts the module back exactly as it found
it: every submodule's train/eval flag restored (also when scoring raises), no gradient kept
(the engine runs under ``torch.inference_mode``), parameters and optimizer untouched.

What is stored: one store entry (kind ``training_signals``) per (run, task, request set, signal
options), one shard per step (``step-<n>``; re-evaluating a step, as a resumed run does,
replaces it), one row per signal: ``run, step, task, signal, value, requests, seconds,
flops``. :func:`load_training_signals` reads every step back as one DataFrame.

The live model's fingerprint is ``hash(run, step)``: its weights change every step and no
directory exists to hash, so the run name and step identify what was scored.

>>> from lmforecast.core.records import Request
>>> as_task([Request(0, "a", "Q: 1+1?", " 2")], "toy").requests[0].continuation
' 2'
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import torch

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.records import Request, Task
from lmforecast.engine import ScoreConfig, ScoringEngine
from lmforecast.models.base import LoadedModel
from lmforecast.models.hf import max_context
from lmforecast.signals.base import Signal, SignalOptions, TaskScores, get_signal
from lmforecast.signals.scored import requests_fingerprint, scores_to_table
from lmforecast.store import Store

KIND = "training_signals"

DEFAULT_SIGNALS = ("xent@uniform", "top1@uniform", "top5@freq", "recip_rank@uniform")
"""Patel et al.'s four named token proxies (the ones their paper reports), the default set."""

TaskLike = Task | Sequence[Request]


def as_task(requests_or_task: TaskLike, name: str = "requests") -> Task:
    """A :class:`Task` as given, or a list of requests wrapped as one (named ``name``)."""
    if isinstance(requests_or_task, Task):
        return requests_or_task
    requests = tuple(requests_or_task)
    if not requests or not all(isinstance(r, Request) for r in requests):
        raise UserError(
            "evaluate_in_training: requests must be a Task or a non-empty list of Request"
        )
    return Task(name, "gold", "requests scored during training", (), requests)


def resolve_signals(names: Sequence[str]) -> list[Signal]:
    """Signals by registry name; an unknown name is a one-line :class:`UserError` naming it."""
    if isinstance(names, str):
        names = (names,)
    if not names:
        raise UserError("evaluate_in_training: signals is empty; name at least one signal")
    signals = [get_signal(n) for n in names]  # the registry's own error names the bad one
    for s in signals:
        if s.needs.token_weights:
            raise UserError(
                f"signal {s.name!r} needs per-token weights (rBridge traces); "
                "training-loop evaluation supports token-statistic signals only"
            )
    return signals


def live_model(module: Any, tokenizer: Any, run: str, step: int) -> LoadedModel:
    """The training module as a :class:`LoadedModel` (no copy: the engine reads its weights)."""
    return LoadedModel(
        name=f"{run}@step{step}",
        module=module,
        tokenizer=tokenizer,
        fingerprint=hash_json({"live": run, "step": int(step)}),
        source=f"live training module of run {run!r} at step {step}",
        max_length=max_context(module, tokenizer),
    )


@contextmanager
def evaluation_mode(module: torch.nn.Module) -> Iterator[None]:
    """``module.eval()`` under ``torch.no_grad()``; every submodule's own train/eval flag comes
    back afterwards (a frozen submodule kept in eval mode during training stays so)."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes:
            m.training = training


@dataclass(frozen=True)
class StepSignals:
    """What one evaluation measured: signal values, and its cost (wall seconds, FLOPs)."""

    run: str
    step: int
    task: str
    values: dict[str, float]
    requests: int
    seconds: float
    flops: float

    def table(self) -> pa.Table:
        names = list(self.values)
        n = len(names)
        return pa.table(
            {
                "run": pa.array([self.run] * n, pa.string()),
                "step": pa.array([self.step] * n, pa.int64()),
                "task": pa.array([self.task] * n, pa.string()),
                "signal": pa.array(names, pa.string()),
                "value": pa.array([self.values[k] for k in names], pa.float64()),
                "requests": pa.array([self.requests] * n, pa.int64()),
                "seconds": pa.array([self.seconds] * n, pa.float64()),
                "flops": pa.array([self.flops] * n, pa.float64()),
            }
        )


def entry_key(run: str, task: Task, options: SignalOptions) -> str:
    """Store key of a run's records on one request set (the signal set may change)."""
    return hash_json(
        {
            "run": run,
            "task": task.name,
            "requests": requests_fingerprint(task),
            "options": [options.last_n_tokens, options.eps],
        }
    )


def measure(
    model: Any,
    tokenizer: Any,
    task: Task,
    signals: Sequence[Signal],
    step: int,
    run: str,
    config: ScoreConfig,
    options: SignalOptions,
) -> StepSignals:
    """Score ``task`` under the live ``model`` and compute ``signals`` (nothing stored)."""
    start = time.perf_counter()
    with evaluation_mode(model):
        lm = live_model(model, tokenizer, run, step)
        engine = ScoringEngine(lm, config)
        scores = engine.score(task.requests)
        cost = engine.cost()
        table = scores_to_table(scores, task, cost.seconds, cost.flops)
        per_request = TaskScores(table, lm.vocab_size, options)
        values = {s.name: s.task_value(s.request_values(per_request)) for s in signals}
    seconds = time.perf_counter() - start
    return StepSignals(run, int(step), task.name, values, len(task.requests), seconds, cost.flops)


def evaluate_in_training(
    model: Any,
    tokenizer: Any,
    requests_or_task: TaskLike,
    signals: Sequence[str] = DEFAULT_SIGNALS,
    step: int = 0,
    *,
    run: str = "run",
    store: Store | None = None,
    config: ScoreConfig | None = None,
    options: SignalOptions | None = None,
) -> dict[str, float]:
    """Chosen signals of the live ``model`` on a fixed request set at ``step``; stored.

    ``model`` is the ``nn.Module`` being trained (a transformers causal LM), ``tokenizer`` its
    tokenizer; ``signals`` are names from ``lmforecast signals``. The values are stored under
    ``run`` and ``step`` (in ``store``, else the default store under the data home) and
    returned as ``{signal name: task value}``.
    """
    task = as_task(requests_or_task)
    chosen = resolve_signals(signals)
    options = options or SignalOptions()
    result = measure(model, tokenizer, task, chosen, step, run, config or ScoreConfig(), options)
    save(result, task, options, store or Store())
    return dict(result.values)


def save(result: StepSignals, task: Task, options: SignalOptions, store: Store) -> None:
    """Write one step's records (its own shard: appending never rewrites earlier steps)."""
    key = entry_key(result.run, task, options)
    store.write_meta(
        KIND,
        key,
        {
            "run": result.run,
            "task": task.name,
            "task_source": task.source,
            "num_requests": len(task.requests),
            "options": {"last_n_tokens": options.last_n_tokens, "eps": options.eps},
        },
    )
    store.write_shard(KIND, key, f"step-{result.step:010d}", result.table())


COLUMNS = ("run", "step", "task", "signal", "value", "requests", "seconds", "flops")


def load_training_signals(store: Store | None = None, run: str | None = None) -> pd.DataFrame:
    """Every stored in-training record (of one run), sorted by run, task, step and signal."""
    store = store or Store()
    tables = [
        table
        for key, meta in store.entries(KIND)
        if run is None or meta.get("run") == run
        for table in [store.read(KIND, key)]
        if table is not None
    ]
    if not tables:
        return pd.DataFrame({c: [] for c in COLUMNS})
    df = pa.concat_tables(tables, promote_options="default").to_pandas()
    return df.sort_values(["run", "task", "step", "signal"]).reset_index(drop=True)


def __getattr__(name: str) -> Any:
    """``SignalCallback`` from here too (it lives beside: it imports this module)."""
    if name == "SignalCallback":
        from lmforecast.integrations.training_callback import SignalCallback

        return SignalCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
