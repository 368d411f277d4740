"""``--model lmforecast`` vs lm-eval's own ``hf`` model inside ``lm_eval.simple_evaluate``.

Side by side in one process, on the same loaded SmolLM2-135M (``hf`` wraps its module), on two
offline lm-eval tasks: the local ARC-style multiple-choice task of the tests (16 questions x 4
choices) and an lm-eval task made of the first N ``gsm8k:gold`` requests (8-shot contexts of
780-1,020 tokens, the gold solution as continuation). Reports each model's wall time for the
whole ``simple_evaluate`` call, the ratio, each one's largest per-request deviation from a
float64 reference (fp32 forward pass, float64 log-softmax), and accuracy disagreements.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import write_result

REPO = Path(__file__).resolve().parents[1]
MC = "lmforecast_mc_local"
GSM = "lmforecast_bench_gsm8k_gold"

GSM_YAML = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
output_type: loglikelihood
test_split: test
doc_to_text: context
doc_to_target: continuation
target_delimiter: ""
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def gsm8k_task(directory: Path, n: int) -> list[tuple[str, str]]:
    """Write the first ``n`` gsm8k:gold requests as a local lm-eval task; return them."""
    from lmforecast.tasks import get_task

    pairs = [(r.context, r.continuation) for r in get_task("gsm8k:gold", limit=n).requests]
    data = directory / "gsm8k_gold.jsonl"
    data.write_text("".join(json.dumps({"context": c, "continuation": x}) + "\n" for c, x in pairs))
    (directory / "gsm8k_gold.yaml").write_text(GSM_YAML.format(task=GSM, data=data))
    return pairs


def float64_reference(model: Any, pairs: list[tuple[str, str]]) -> list[float]:
    import torch

    from lmforecast.core.records import Request
    from lmforecast.engine import encode_requests

    reqs = [Request(i, str(i), c, x) for i, (c, x) in enumerate(pairs)]
    values = []
    for enc in encode_requests(model, reqs):
        with torch.inference_mode():
            logits = model.module(torch.tensor([list(enc.input_ids)])).logits[0]
        logp = torch.log_softmax(logits[enc.score_start :].double(), -1)
        t = torch.tensor(enc.targets)
        values.append(float(logp[torch.arange(len(t)), t].sum()))
    return values


def requests_of(results: dict[str, Any], task: str) -> tuple[list[tuple[str, str]], list[float]]:
    """(context, continuation) and log-likelihood of every request, by doc then choice."""
    pairs, values = [], []
    for s in sorted(results["samples"][task], key=lambda s: s["doc_id"]):
        for args, resp in zip(s["arguments"], s["resps"], strict=True):
            pairs.append((args[0], args[1]))
            values.append(float(resp[0][0]))
    return pairs, values


def picks(results: dict[str, Any], task: str) -> list[int]:
    """The chosen choice of each doc (arg-max log-likelihood)."""
    docs = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    return [max(range(len(s["resps"])), key=lambda j: s["resps"][j][0][0]) for s in docs]


def compare(model: Any, runs: dict[str, tuple[dict[str, Any], float]], task: str) -> dict[str, Any]:
    (ours, t_ours), (hf, t_hf) = runs["lmforecast"], runs["hf"]
    pairs, a = requests_of(ours, task)
    pairs_hf, b = requests_of(hf, task)
    assert pairs == pairs_hf
    exact = float64_reference(model, pairs)
    near = 0
    for s in ours["samples"][task]:
        ll = sorted((exact[pairs.index((c, x))] for c, x in s["arguments"]), reverse=True)
        near += len(ll) > 1 and ll[0] - ll[1] < 2 * 2.8e-3
    pick_a, pick_b = picks(ours, task), picks(hf, task)
    return {
        "requests": len(pairs),
        "lmforecast_seconds": t_ours,
        "hf_seconds": t_hf,
        "speedup": t_hf / t_ours,
        "lmforecast_max_dev_float64": max(abs(x - e) for x, e in zip(a, exact, strict=True)),
        "hf_max_dev_float64": max(abs(x - e) for x, e in zip(b, exact, strict=True)),
        "acc_lmforecast": ours["results"][task].get("acc,none"),
        "acc_hf": hf["results"][task].get("acc,none"),
        "docs_choosing_differently": sum(x != y for x, y in zip(pick_a, pick_b, strict=True)),
        "near_ties_within_2x2.8e-3": near,
    }


def run(n: int | None = None) -> dict[str, Any]:
    n = n or int(os.environ.get("BENCH_LMEVAL_N", 40))
    cwd = Path.cwd()
    os.chdir(REPO)  # the local task's YAML names its data relative to the repository root
    try:
        return _run(n)
    finally:
        os.chdir(cwd)


def _run(n: int) -> dict[str, Any]:
    import lm_eval
    import torch
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from lmforecast.integrations.lm_eval import LMForecastLM
    from lmforecast.models import load_model

    t = time.perf_counter()
    model = load_model("smollm2-135m")
    load_seconds = time.perf_counter() - t
    models = {
        "lmforecast": LMForecastLM(model, batch_size=16),
        "hf": HFLM(pretrained=model.module, tokenizer=model.tokenizer, batch_size=16),
    }
    out: dict[str, Any] = {"model": "smollm2-135m", "batch_size": 16, "load_seconds": load_seconds}
    with tempfile.TemporaryDirectory() as tmp:
        gsm8k_task(Path(tmp), n)
        tasks = TaskManager(
            include_path=[str(REPO / "tests/data/lm_eval"), tmp], include_defaults=False
        )
        for task in (MC, GSM):
            # One-time costs (building the dataset, first forward passes) go to neither model.
            for lm in models.values():
                lm_eval.simple_evaluate(
                    model=lm, tasks=[task], task_manager=tasks, limit=1, bootstrap_iters=0
                )
            runs = {}
            for name, lm in models.items():
                t = time.perf_counter()
                res = lm_eval.simple_evaluate(
                    model=lm, tasks=[task], task_manager=tasks, log_samples=True, bootstrap_iters=0
                )
                runs[name] = (res, time.perf_counter() - t)
            out[task] = compare(model, runs, task)
    out["threads"] = torch.get_num_threads()
    out["load_average_1min"] = os.getloadavg()[0]
    return out


if __name__ == "__main__":
    result = run()
    print(json.dumps(result, indent=1))
    print("wrote", write_result("lm_eval", result))
