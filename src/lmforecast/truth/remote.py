"""One shard of ground truth computed in a worker (a Ray task, a pool process).

The worker loads the model itself (once per process), checks it is the model the driver keyed
the entry with, generates and grades its docs, and writes its shard into the shared store; the
driver (:func:`lmforecast.truth.run.run_truth`) reads the entry back.
"""

from __future__ import annotations

import socket

from lmforecast.core.errors import UserError
from lmforecast.engine.generate import GenerationConfig
from lmforecast.executors import ModelRef, worker_model
from lmforecast.executors.shared import check_shared
from lmforecast.store import Store
from lmforecast.tasks import Task
from lmforecast.truth.run import KIND, Tracker, compute_shard, truth_key


def truth_shard(
    ref: ModelRef,
    task: Task,
    cfg: GenerationConfig,
    store_at: tuple[str, str],
    key: str,
    start: int,
    shard_size: int,
    workers: int,
) -> tuple[int, int]:
    """One shard in a worker (top-level: executors pickle it): (docs, tokens generated)."""
    check_shared(*store_at)
    model = worker_model(ref)
    if truth_key(model, task, cfg) != key:
        raise UserError(
            f"model {ref.spec} on node {socket.gethostname()} is not the driver's "
            f"(fingerprint {model.fingerprint}): its files differ between nodes"
        )
    track = Tracker(len(task.docs), None)
    table = compute_shard(model, task, cfg, start, shard_size, workers, track)
    Store(store_at[0]).write_shard(KIND, key, f"{start // shard_size:05d}", table)
    return len(task.docs[start : start + shard_size]), track.tokens
