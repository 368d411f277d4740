"""Probe latency on a real model: the probe path (one forward pass over the prompts + the
probe) against the generative evaluation it replaces (n sampled answers per problem, graded),
same checkpoint and problems: ``smollm2-135m`` on the first 50 ``gsm8k:gold`` problems.

Both sides are measured in this run, into a fresh store (nothing is read back from an earlier
run); the probe's out-of-fold quality on those 50 problems is reported beside it, though 50
problems say little about quality: this benchmark is about cost.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

MODEL, TASK, PROBLEMS, SAMPLES = "smollm2-135m", "gsm8k:gold", 50, 8


def run() -> dict[str, Any]:
    from lmforecast import api
    from lmforecast.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        trained = api.train_probe(
            MODEL,
            [TASK],
            limit=PROBLEMS,
            n_samples=SAMPLES,
            n_boot=200,
            output=Path(tmp) / "p.probe",
            store=Store(Path(tmp) / "store"),
        )
        wall = time.perf_counter() - start
        predict_start = time.perf_counter()
        found = api.predict_probe(
            Path(tmp) / "p.probe", MODEL, [TASK], limit=PROBLEMS, store=Store(Path(tmp) / "s2")
        )
        predict_wall = time.perf_counter() - predict_start
    d = trained.to_dict()
    ev = d["evaluations"][0]
    return {
        "model": MODEL,
        "task": TASK,
        "problems": PROBLEMS,
        "samples_per_problem": SAMPLES,
        "generative_seconds": d["truth_seconds"],
        "generative_flops": d["truth_flops"],
        "probe_forward_seconds": d["feature_seconds"],
        "probe_forward_flops": d["feature_flops"],
        "probe_predict_seconds_cold": found.probe_seconds,
        "predict_command_seconds": predict_wall,
        "speedup_seconds": d["truth_seconds"] / found.probe_seconds,
        "flops_ratio": d["truth_flops"] / max(d["feature_flops"], 1.0),
        "train_wall_seconds": wall,
        "oof_auroc": ev["auroc"],
        "true_accuracy": ev["true_accuracy"],
        "predicted_accuracy": ev["predicted_accuracy"],
        "note": "probe_predict_seconds_cold: a fresh store, so the forward pass over the "
        "prompts runs (model already loaded) and the probe predicts; speedup_seconds is "
        "generative_seconds over it",
    }
