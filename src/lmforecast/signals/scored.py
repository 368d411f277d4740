"""Score a task under a model through the store: resumable, keyed by fingerprints.

Every signal family reads per-token statistics from here. The work plan of the engine is cut
into units; each unit is written as one Parquet shard the moment it is done, so a run killed
with SIGKILL loses at most the unit in flight, and a restarted run computes only the units that
are missing. The plan does not depend on what is stored, so the resumed result is identical to
an uninterrupted one.

With an executor (:class:`Elsewhere`: a Ray cluster, a process pool) every missing unit is one
job that loads the model itself (once per worker process), recomputes the same plan, scores its
unit and writes its own shard; the driver only reads the entry back. A sweep killed half-way,
or a node lost with its units, therefore costs only the units not yet written.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.records import Task
from lmforecast.engine import RequestScore, ScoreConfig, ScoringEngine, WorkUnit
from lmforecast.engine.encode import EncodedRequest
from lmforecast.executors import Elsewhere, ModelRef, worker_model
from lmforecast.executors.shared import check_shared, mark_shared
from lmforecast.models.base import LoadedModel
from lmforecast.store import ShardedJob, Store

KIND = "scores"
ENGINE_VERSION = 2  # bump when the engine's numbers change, so old results are not reused

Progress = Callable[[int, int], None]


def requests_fingerprint(task: Task) -> str:
    """Hash of what the engine scores. Per-character weights enter only when a request has
    them, so the key of every weight-less task (all results stored so far) is unchanged."""
    return hash_json(
        [
            [r.doc_id, r.context, r.continuation, r.choice]
            + ([] if r.char_weights is None else [list(r.char_weights)])
            for r in task.requests
        ]
    )


def scores_key(model: LoadedModel, task: Task, config: ScoreConfig) -> str:
    """Store key: model + tokenizer (the fingerprint covers both), requests, result config."""
    return hash_json(
        {
            "model": model.fingerprint,
            "requests": requests_fingerprint(task),
            "config": config.result_key(),
            # The plan decides shard boundaries; batch size does not enter it.
            "plan": [config.prefix_sharing, config.min_prefix_tokens, config.unit_size],
            "engine": ENGINE_VERSION,
        }
    )


def scores_to_table(
    scores: list[RequestScore], task: Task, seconds: float, flops: float
) -> pa.Table:
    """One row per request, per-token statistics as list columns; the unit's cost is spread
    evenly over its rows so that sums over rows give totals.

    ``tok_weight`` (float64 per token, NaN where a token covers no continuation character) is
    added when any request of the task carries per-character weights, so every shard of one
    task has the same columns; a request without weights there holds null.
    """
    n = len(scores)
    req = {r.index: r for r in task.requests}
    columns: dict[str, Any] = {
        "request_index": pa.array([s.request_index for s in scores], pa.int64()),
        "doc_id": pa.array([req[s.request_index].doc_id for s in scores], pa.string()),
        "choice": pa.array([req[s.request_index].choice for s in scores], pa.int64()),
        "logprob": pa.array([s.logprob_sum for s in scores], pa.float64()),
        "num_tokens": pa.array([s.num_tokens for s in scores], pa.int64()),
        "num_bytes": pa.array([s.num_bytes for s in scores], pa.int64()),
        "truncated": pa.array([s.truncated for s in scores], pa.int64()),
        "is_greedy": pa.array([s.is_greedy for s in scores], pa.bool_()),
        "tok_target_id": pa.array([s.target_ids for s in scores], pa.list_(pa.int32())),
        "tok_logprob": pa.array([s.logprob for s in scores], pa.list_(pa.float32())),
        "tok_entropy": pa.array([s.entropy for s in scores], pa.list_(pa.float32())),
        "tok_rank": pa.array([s.rank for s in scores], pa.list_(pa.int32())),
        "tok_top1_prob": pa.array([s.top1_prob for s in scores], pa.list_(pa.float32())),
        "tok_top1_id": pa.array([s.top1_id for s in scores], pa.list_(pa.int32())),
        "cost_seconds": pa.array([seconds / n] * n, pa.float64()),
        "cost_flops": pa.array([flops / n] * n, pa.float64()),
    }
    if any(r.char_weights is not None for r in task.requests):
        columns["tok_weight"] = pa.array(
            [None if s.weights is None else s.weights for s in scores], pa.list_(pa.float64())
        )
    for name in sorted(scores[0].hidden) if scores else []:
        columns[f"hidden_{name}"] = pa.array(
            [s.hidden[name].astype(np.float32) for s in scores], pa.list_(pa.float32())
        )
    return pa.table(columns)


@dataclass(frozen=True)
class ScoredTask:
    """A task's stored scores under one model (one row per request, in request order)."""

    key: str
    model_name: str
    model_fingerprint: str
    task_name: str
    table: pa.Table
    computed_units: int  # units computed by this call (0 when everything was reused)
    total_units: int

    @property
    def seconds(self) -> float:
        return float(np.sum(self.table.column("cost_seconds").to_numpy()))

    @property
    def flops(self) -> float:
        return float(np.sum(self.table.column("cost_flops").to_numpy()))


@dataclass(frozen=True)
class UnitDone:
    """What a unit run elsewhere sends back (its scores are in the store)."""

    unit_id: str
    requests: int
    tokens: int
    seconds: float
    node: str


def _unit_table(
    engine: ScoringEngine,
    unit: WorkUnit,
    by_index: dict[int, EncodedRequest],
    task: Task,
    progress: Progress | None = None,
) -> pa.Table:
    before = engine.cost()
    scores = engine.run_unit(unit, by_index, progress)
    after = engine.cost()
    return scores_to_table(scores, task, after.seconds - before.seconds, after.flops - before.flops)


_PLANS: dict[str, tuple[ScoringEngine, dict[int, EncodedRequest], dict[str, WorkUnit]]] = {}


def score_unit(
    ref: ModelRef,
    task: Task,
    config: ScoreConfig,
    store_at: tuple[str, str],
    key: str,
    unit_id: str,
) -> UnitDone:
    """One unit, in a worker: load the model (once per process), plan as the driver did,
    score the unit and write its shard (top-level: executors pickle it by name)."""
    root, token = store_at
    check_shared(root, token)
    if key not in _PLANS:
        model = worker_model(ref)
        if scores_key(model, task, config) != key:
            raise UserError(
                f"model {ref.spec} on node {socket.gethostname()} is not the driver's "
                f"(fingerprint {model.fingerprint}): its files differ between nodes"
            )
        engine = ScoringEngine(model, config)
        encoded = engine.encode(task.requests)
        _PLANS.clear()
        _PLANS[key] = (
            engine,
            {e.index: e for e in encoded},
            {u.unit_id: u for u in engine.plan(encoded)},
        )
    engine, by_index, units = _PLANS[key]
    started = time.perf_counter()
    table = _unit_table(engine, units[unit_id], by_index, task)
    Store(root).write_shard(KIND, key, unit_id, table)
    tokens = int(pc.sum(table.column("num_tokens")).as_py() or 0)
    return UnitDone(
        unit_id, table.num_rows, tokens, time.perf_counter() - started, socket.gethostname()
    )


def score_task(
    model: LoadedModel,
    task: Task,
    config: ScoreConfig | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    elsewhere: Elsewhere | None = None,
) -> ScoredTask:
    """Score ``task`` under ``model``, reusing and extending what the store already holds.

    ``on_plan(total_requests, requests_already_stored)`` is called once before work starts
    (the CLI sizes its progress bar with it). With ``elsewhere`` the missing units run as jobs
    of its executor (see the module docstring); the stored results are the same.
    """
    config = config or ScoreConfig()
    store = store or Store()
    key = scores_key(model, task, config)
    engine = ScoringEngine(model, config)
    encoded = engine.encode(task.requests)
    by_index = {e.index: e for e in encoded}
    units = engine.plan(encoded)
    job: ShardedJob[WorkUnit] = ShardedJob(store, KIND, key)
    store.write_meta(
        KIND,
        key,
        {
            "model": model.name,
            "model_fingerprint": model.fingerprint,
            "model_source": model.source,
            "dtype": model.dtype_name,
            "task": task.name,
            "task_source": task.source,
            "num_requests": len(task.requests),
            "config": config.model_dump(mode="json"),
            "engine_version": ENGINE_VERSION,
            "units": len(units),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    if on_plan is not None:
        on_plan(len(encoded), sum(len(u.members) for u in units if job.is_stored(u.unit_id)))

    if elsewhere is None:
        run = job.run(
            units, lambda u: u.unit_id, lambda u: _unit_table(engine, u, by_index, task, progress)
        )
    else:
        where = (str(store.root), mark_shared(store.root))

        def compute_missing(missing: list[WorkUnit]) -> Iterator[WorkUnit]:
            todo = [(elsewhere.model, task, config, where, key, u.unit_id) for u in missing]
            for i, done in elsewhere.executor.imap_unordered(score_unit, todo):
                if progress is not None:
                    progress(done.requests, done.tokens)
                yield missing[i]

        run = job.run_elsewhere(units, lambda u: u.unit_id, compute_missing)
    table = run.table(sort_by="request_index")
    if table.num_rows != len(task.requests):
        raise RuntimeError(
            f"store entry {KIND}/{key} holds {table.num_rows} rows for {len(task.requests)} "
            "requests; run `lmforecast store check --repair` and score again"
        )
    return ScoredTask(
        key=key,
        model_name=model.name,
        model_fingerprint=model.fingerprint,
        task_name=task.name,
        table=table,
        computed_units=run.computed,
        total_units=len(units),
    )
