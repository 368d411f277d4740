"""Multiple-choice tasks with prefix sharing (small groups packed into units) vs without.

Each multiple-choice question is a group of four requests under its own prompt, all under the
task's few-shot prompt. Before packing each such group was a work unit of its own, and sharing
ran about 4x *slower* than no sharing. Measured side by side in one process per task (same
model object, same requests, same machine load): requests/s with and without sharing, their
ratio, and the largest per-request difference between the two (they must agree to 1e-4 nats).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import run_worker

TASKS = ("arc_easy:rc", "hellaswag:rc")


def worker(task_name: str, docs: int, model_name: str) -> dict[str, Any]:
    import torch

    from lmforecast.engine import ScoreConfig, ScoringEngine
    from lmforecast.models import load_model
    from lmforecast.tasks import get_task

    model = load_model(model_name)
    requests = list(get_task(task_name, limit=docs).requests)
    out: dict[str, Any] = {"task": task_name, "docs": docs, "requests": len(requests)}
    sums = {}
    for sharing in (True, False):
        engine = ScoringEngine(model, ScoreConfig(batch_size=16, prefix_sharing=sharing))
        plan = engine.plan(engine.encode(requests))
        t = time.perf_counter()
        scores = engine.score(requests)
        seconds = time.perf_counter() - t
        name = "sharing" if sharing else "no_sharing"
        sums[name] = [s.logprob_sum for s in scores]
        out[name] = {
            "seconds": seconds,
            "requests_per_s": len(requests) / seconds,
            "units": len(plan),
            "groups": sum(len(u.groups) for u in plan),
            "forward_tokens": engine.cost().forward_tokens,
            "gflops_per_s": engine.cost().flops / seconds / 1e9,
        }
    out["speedup_sharing_over_no_sharing"] = (
        out["sharing"]["requests_per_s"] / out["no_sharing"]["requests_per_s"]
    )
    out["max_abs_diff_nats"] = max(
        abs(a - b) for a, b in zip(sums["sharing"], sums["no_sharing"], strict=True)
    )
    out["threads"] = torch.get_num_threads()
    return out


def run(docs: int | None = None) -> dict[str, Any]:
    docs = docs or int(os.environ.get("BENCH_PACKING_DOCS", 40))
    me = str(Path(__file__).resolve())
    results = {}
    for task in TASKS:
        args = [me, "--worker", "--task", task, "--docs", str(docs)]
        results[task] = run_worker(args, cap_gib=20)
    return {"model": "smollm2-135m", "batch_size": 16, "tasks": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--task", default="arc_easy:rc")
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.task, args.docs, args.model)))
    else:
        from common import write_result

        result = run(args.docs)
        print(json.dumps(result, indent=1))
        print("wrote", write_result("packing", result))


if __name__ == "__main__":
    main()
