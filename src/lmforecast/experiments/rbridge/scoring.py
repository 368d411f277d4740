"""The frontier's traces for each task, and every base checkpoint's rBridge scores on them.

The traces are made once per (frontier, task, docs) and stored (:mod:`lmforecast.signals.
rbridge.library`); each base checkpoint then scores them in one stored, resumable engine pass
per task, the frontier's weights riding with the requests. Patel's token-level proxies come
from :mod:`lmforecast.experiments.patel.scoring` (the same store: free when Patel ran first).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.engine import ScoreConfig
from lmforecast.experiments.patel.population import base_models, task_name
from lmforecast.experiments.rbridge.config import TRACE_SIGNALS, Progress, RBridgeConfig
from lmforecast.experiments.settings import scoring_executor
from lmforecast.models import load_model
from lmforecast.signals.rbridge.library import TraceSet, ensure_traces
from lmforecast.signals.rbridge.score import score_traces
from lmforecast.signals.rbridge.traces import Trace
from lmforecast.store import Store
from lmforecast.tasks import get_task
from lmforecast.truth.graders import answer_reader


def frontier_traces(
    families: Sequence[str], config: RBridgeConfig, progress: Progress | None = None
) -> tuple[str, dict[str, tuple[TraceSet, list[Trace]]]]:
    """The testbed frontier's model id, and its traces on the first ``docs_per_task`` problems
    of each task."""
    from lmforecast import testbed

    model_id, path = testbed.frontier_model(config.preset, config.seed)
    frontier = load_model(path)
    out: dict[str, tuple[TraceSet, list[Trace]]] = {}
    for fam in families:
        if progress is not None:
            progress(f"traces of {model_id} on {task_name(fam)}")
        task = get_task(task_name(fam), config.docs_per_task)
        out[fam] = ensure_traces(
            frontier, task, batch_size=config.batch_size, answer_of=answer_reader(task.grader)
        )
    return model_id, out


def score_population_traces(
    manifest: pd.DataFrame,
    traces: dict[str, list[Trace]],
    config: RBridgeConfig,
    store: Store,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """One row per (base checkpoint, task): the rBridge signals (task values), the per-trace
    values kept for bootstraps, and what scoring cost."""
    jobs = [
        (str(r.model_id), str(r.path), traces, config, store.root)
        for r in base_models(manifest).itertuples(index=False)
    ]
    rows: list[dict[str, Any]] = []
    with scoring_executor(config, store.root) as executor:
        for i, (_, model_rows) in enumerate(executor.imap_unordered(score_model_traces, jobs)):
            rows.extend(model_rows)
            if progress is not None:
                progress(f"traces scored under {model_rows[0]['model_id']} ({i + 1}/{len(jobs)})")
    order = {job[0]: k for k, job in enumerate(jobs)}
    families = list(traces)
    rows.sort(key=lambda r: (order[r["model_id"]], families.index(r["task"])))
    return pd.DataFrame(rows)


def score_model_traces(
    model_id: str,
    path: str,
    traces: dict[str, list[Trace]],
    config: RBridgeConfig,
    store_root: Path,
) -> list[dict[str, Any]]:
    """One model's rows of :func:`score_population_traces` (top-level: workers pickle it)."""
    store = Store(store_root)
    model = load_model(path)
    rows = []
    for fam, fam_traces in traces.items():
        task = get_task(task_name(fam), config.docs_per_task)
        run = score_traces(
            model,
            task,
            fam_traces,
            config=ScoreConfig(batch_size=config.batch_size),
            store=store,
            resamples=200,
            seed=config.seed,
        )
        per_trace = np.stack(
            [np.asarray(run.table.column(n).to_pylist(), dtype=float) for n in TRACE_SIGNALS],
            axis=1,
        )
        rows.append(
            {
                "model_id": model_id,
                "task": fam,
                **{n: run.metrics[n].value for n in TRACE_SIGNALS},
                "trace_values": per_trace,
                "trace_doc_ids": run.table.column("doc_id").to_pylist(),
                "trace_flops": run.scored.flops,
                "trace_seconds": run.scored.seconds,
            }
        )
    return rows
