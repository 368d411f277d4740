"""What running through Ray costs: per unit, and on a real scoring sweep, both sides in one run.

1. Overhead per unit: ``UNITS`` trivial units (a function returning its argument) through a
   local Ray instance (``RayExecutor``, warmed up: its worker processes already started) and
   in process; seconds per unit. The cold start (``ray.init`` plus the first task) is reported
   apart: a sweep pays it once.
2. A real sweep: ``smollm2-135m`` on the first ``DOCS`` ``gsm8k:gold`` problems, cut into units
   of ``UNIT_SIZE`` requests, scored in process and through the local Ray instance (each worker
   loads the model once, scores its units and writes their shards), each into a fresh store;
   wall times, and whether the stored scores are equal (the cost columns aside).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

UNITS = 200
MODEL, TASK, DOCS, UNIT_SIZE = "smollm2-135m", "gsm8k:gold", 32, 8
CPUS = 2  # Ray workers (one CPU and one torch thread each); in process: this many threads


def _identity(x: int) -> int:
    return x


def _overhead() -> dict[str, Any]:
    import ray

    from lmforecast.executors import InProcessExecutor
    from lmforecast.executors.ray import RayExecutor

    jobs = [(i,) for i in range(UNITS)]
    start = time.perf_counter()
    ex = RayExecutor(local_cpus=CPUS)
    ex.map(_identity, [(0,)] * CPUS)  # workers started: what every later sweep finds
    cold = time.perf_counter() - start
    start = time.perf_counter()
    assert ex.map(_identity, jobs) == list(range(UNITS))
    ray_s = (time.perf_counter() - start) / UNITS
    start = time.perf_counter()
    InProcessExecutor().map(_identity, jobs)
    local_s = (time.perf_counter() - start) / UNITS
    assert ray.is_initialized()
    return {
        "units": UNITS,
        "ray_seconds_per_unit": ray_s,
        "in_process_seconds_per_unit": local_s,
        "ray_cold_start_seconds": cold,
    }


def _sweep(tmp: Path) -> dict[str, Any]:
    import torch

    from lmforecast import api
    from lmforecast.engine import ScoreConfig
    from lmforecast.store import Store

    config = ScoreConfig(unit_size=UNIT_SIZE)
    torch.set_num_threads(CPUS)
    start = time.perf_counter()
    here = api.score(MODEL, TASK, limit=DOCS, config=config, store_dir=tmp / "here")
    here_s = time.perf_counter() - start
    start = time.perf_counter()
    there = api.score(MODEL, TASK, limit=DOCS, config=config, store_dir=tmp / "ray", executor="ray")
    ray_s = time.perf_counter() - start
    cost = ["cost_seconds", "cost_flops"]
    a = Store(tmp / "here").read("scores", here.scored.key, sort_by="request_index")
    b = Store(tmp / "ray").read("scores", there.scored.key, sort_by="request_index")
    return {
        "model": MODEL,
        "task": TASK,
        "docs": DOCS,
        "units": there.scored.total_units,
        "in_process_wall_seconds": here_s,
        "ray_wall_seconds": ray_s,
        "ray_over_in_process": ray_s / here_s,
        "scores_equal": bool(a is not None and b is not None and a.drop(cost).equals(b.drop(cost))),
        "note": f"in process: one process, {CPUS} torch threads, model loaded once; Ray: "
        f"{CPUS} single-threaded workers, each loading the model itself (driver loads it too, "
        "for the fingerprint and the plan)",
    }


def run() -> dict[str, Any]:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    with tempfile.TemporaryDirectory() as tmp:
        result = {"overhead": _overhead(), "sweep": _sweep(Path(tmp))}
    import ray

    ray.shutdown()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
