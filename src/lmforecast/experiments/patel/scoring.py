"""Scoring a population: every base checkpoint on every task, every token-level signal.

One stored, resumable engine pass per (model, task) gives the per-token statistics; every
registered signal that needs nothing more (the 80 proxies, the request metrics, any signal
added since) is computed from them, so adding a signal costs no forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.engine import ScoreConfig
from lmforecast.experiments.patel.config import MC_COLUMN, NAMED_PROXIES, PatelConfig, Progress
from lmforecast.experiments.patel.population import (
    base_models,
    choice_task_name,
    problem_tasks,
    task_name,
)
from lmforecast.experiments.settings import scoring_executor
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.signals.base import (
    Signal,
    SignalOptions,
    TaskScores,
    all_signals,
    compute_signals,
)
from lmforecast.store import Store
from lmforecast.tasks import get_task
from lmforecast.truth.multiple_choice import mc_truth

RESERVED = frozenset(
    {"model_id", "task", "instances", "doc_ids", "score_flops", "score_seconds", "mc_flops"}
    | {MC_COLUMN}
)


def token_signals() -> list[Signal]:
    """Registered signals computable from per-token statistics alone."""
    signals = [s for s in all_signals() if not s.needs.hidden_layers and not s.needs.token_weights]
    clash = [s.name for s in signals if s.name in RESERVED]
    if clash:
        raise ValueError(f"signal name(s) {clash} clash with the population table's columns")
    return signals


def score_population(
    manifest: pd.DataFrame,
    config: PatelConfig,
    store: Store,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Signals per (base checkpoint, task), plus per-instance proxies kept for the bootstrap.

    Scores come from the store when present (keyed by model and request fingerprints). With
    ``config.workers > 1`` models are scored in that many processes (one thread each: the
    testbed's models are far too small to use several threads well), each writing its own
    store entries; with ``config.executor`` ``ray[=ADDRESS]`` one Ray task per model does.
    """
    families = problem_tasks(manifest)
    jobs = [
        (str(r.model_id), str(r.path), families, config, store.root)
        for r in base_models(manifest).itertuples(index=False)
    ]
    rows: list[dict[str, Any]] = []
    with scoring_executor(config, store.root) as executor:
        if config.workers <= 1 and config.executor == "local" and progress is not None:
            progress(f"scoring {len(jobs)} models")
        for i, (k, model_rows) in enumerate(executor.imap_unordered(score_model, jobs)):
            rows.extend(model_rows)
            if progress is not None:
                progress(f"scored {jobs[k][0]} ({i + 1}/{len(jobs)})")
    order = {job[0]: k for k, job in enumerate(jobs)}
    rows.sort(key=lambda r: (order[r["model_id"]], families.index(r["task"])))
    return pd.DataFrame(rows)


def score_model(
    model_id: str,
    path: str,
    families: Sequence[str],
    config: PatelConfig,
    store_root: Path,
) -> list[dict[str, Any]]:
    """One model's rows of :func:`score_population` (a top-level function: workers pickle it)."""
    store = Store(store_root)
    model = load_model(path, dtype=config.dtype)
    signals = token_signals()
    options = SignalOptions(last_n_tokens=config.last_n_tokens)
    rows: list[dict[str, Any]] = []
    for fam in families:
        task = get_task(task_name(fam), config.docs_per_task)
        result = scored.score_task(model, task, ScoreConfig(batch_size=config.batch_size), store)
        per_request = compute_signals(TaskScores(result.table, model.vocab_size, options), signals)
        # The multiple-choice baseline: the same problems, answer picked by log-likelihood.
        # Without prefix sharing: a 4-request group per ~30-token prompt would make one work
        # unit (and one stored shard) per problem, 4x slower here than recomputing.
        choice_task = get_task(choice_task_name(fam), config.docs_per_task)
        choices = scored.score_task(
            model,
            choice_task,
            ScoreConfig(batch_size=config.batch_size, prefix_sharing=False),
            store,
        )
        mc = mc_truth(choice_task, choices.table.column("logprob").to_pylist())
        rows.append(
            {
                "model_id": model_id,
                "task": fam,
                **{s.name: s.task_value(per_request[s.name]) for s in signals},
                "instances": np.stack([per_request[n] for n in NAMED_PROXIES], axis=1),
                "doc_ids": result.table.column("doc_id").to_pylist(),
                "score_flops": result.flops,
                "score_seconds": result.seconds,
                MC_COLUMN: mc.acc.value,
                "mc_flops": choices.flops,
            }
        )
    return rows


def task_means(proxies: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Signals averaged over tasks, one row per model (computed once, indexed).

    ``Series.mean`` per group, not the grouped cython mean: its compensated summation differs in
    the last bit, enough to flip near-tied pairs in decision accuracy.
    """
    return proxies.groupby("model_id")[list(dict.fromkeys(columns))].agg(lambda x: x.mean())


def reported_means(proxies: pd.DataFrame) -> pd.DataFrame:
    """:func:`task_means` of the signals the settings report by name."""
    return task_means(proxies, [*NAMED_PROXIES, "xent@uniform", MC_COLUMN])
