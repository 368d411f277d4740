"""Scoring engine vs lm-evaluation-harness 0.4.13 ``HFLM.loglikelihood``, side by side.

Same loaded model object, same requests (the first N ``gsm8k:gold`` requests), one process per
measurement so peak resident memory is each one's own. Reports: requests/s and tokens/s of both,
their ratio, the per-request log-likelihood difference (and both against a float64 reference
on a subset), peak memory on gemma3-270m at batch 16, the engine's share of this machine's
fp32 matmul peak, and where the engine's time goes (``profile_engine.py``).
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

from common import matmul_peak_gflops, run_worker, write_result


def _requests(n: int) -> list[Any]:
    from lmforecast.tasks import get_task

    return list(get_task("gsm8k:gold", limit=n).requests)


def worker_engine(model_name: str, n: int, batch_size: int, out: Path | None) -> dict[str, Any]:
    import torch

    from lmforecast.engine import ScoreConfig, ScoringEngine
    from lmforecast.models import load_model

    model = load_model(model_name)
    reqs = _requests(n)
    engine = ScoringEngine(model, ScoreConfig(batch_size=batch_size))
    t = time.perf_counter()
    scores = engine.score(reqs)
    seconds = time.perf_counter() - t
    cost = engine.cost()
    if out is not None:
        out.write_text(json.dumps([s.logprob_sum for s in scores]))
    return {
        "seconds": seconds,
        "requests_per_s": n / seconds,
        "tokens": cost.forward_tokens,
        "scored_tokens": cost.scored_tokens,
        "flops": cost.flops,
        "gflops_per_s": cost.flops / seconds / 1e9,
        "threads": torch.get_num_threads(),
        "model_fp32_gib": sum(p.numel() for p in model.module.parameters()) * 4 / 2**30,
    }


def worker_lmeval(model_name: str, n: int, batch_size: int, out: Path | None) -> dict[str, Any]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from lmforecast.models import load_model

    model = load_model(model_name)
    lm = HFLM(pretrained=model.module, tokenizer=model.tokenizer, batch_size=batch_size)
    reqs = _requests(n)
    instances = [
        Instance("loglikelihood", doc={}, arguments=(r.context, r.continuation), idx=i)
        for i, r in enumerate(reqs)
    ]
    t = time.perf_counter()
    results = lm.loglikelihood(instances, disable_tqdm=True)
    seconds = time.perf_counter() - t
    if out is not None:
        out.write_text(json.dumps([float(r[0]) for r in results]))
    flops = lmeval_flops(model, reqs)
    return {
        "seconds": seconds,
        "requests_per_s": n / seconds,
        "flops_estimate": flops,
        "gflops_per_s": flops / seconds / 1e9,
    }


def lmeval_flops(model: Any, reqs: list[Any]) -> float:
    """What HFLM computes, counted like the engine's cost: every request's whole sequence
    (context + continuation, less the last token) through the body *and* the output layer at
    every position, plus causal attention; padding not counted (it sorts by length)."""
    from lmforecast.engine import encode_requests

    per_pair = model.flops_per_token(1) - model.flops_per_token(0)
    total = 0.0
    for enc in encode_requests(model, reqs):
        length = len(enc.input_ids)
        total += 2.0 * model.num_parameters * length + per_pair * length * (length + 1) / 2
    return total


def worker_reference(model_name: str, n: int) -> dict[str, Any]:
    """float64 log-softmax over each request's own full forward pass (the exact value)."""
    import torch

    from lmforecast.engine import encode_requests
    from lmforecast.models import load_model

    model = load_model(model_name)
    values = []
    for enc in encode_requests(model, _requests(n)):
        with torch.inference_mode():
            logits = model.module(torch.tensor([list(enc.input_ids)])).logits[0]
        logp = torch.log_softmax(logits[enc.score_start :].double(), -1)
        t = torch.tensor(enc.targets)
        values.append(float(logp[torch.arange(len(t)), t].sum()))
    return {"values": values}


def worker_profile(model_name: str, n: int, batch_size: int) -> dict[str, Any]:
    """Where the engine's time goes on the first ``n`` requests (see ``profile_engine``)."""
    from profile_engine import profile_breakdown

    from lmforecast.engine import ScoreConfig, ScoringEngine
    from lmforecast.models import load_model

    model = load_model(model_name)
    engine = ScoringEngine(model, ScoreConfig(batch_size=batch_size))
    return profile_breakdown(engine, _requests(n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=["engine", "lmeval", "reference", "profile"])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker == "engine":
        print(json.dumps(worker_engine(args.model, args.n, args.batch_size, args.out)))
    elif args.worker == "lmeval":
        print(json.dumps(worker_lmeval(args.model, args.n, args.batch_size, args.out)))
    elif args.worker == "profile":
        print(json.dumps(worker_profile(args.model, args.n, args.batch_size)))
    elif args.worker == "reference":
        print(json.dumps(worker_reference(args.model, args.n)))
    else:
        print(json.dumps(run(), indent=1))


def run(n: int | None = None, memory_n: int | None = None) -> dict[str, Any]:
    n = n or int(os.environ.get("BENCH_ENGINE_N", 200))
    memory_n = memory_n or int(os.environ.get("BENCH_MEMORY_N", 32))
    me = str(Path(__file__).resolve())
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    ours_file, theirs_file = tmp / "bench_engine_ours.json", tmp / "bench_engine_lmeval.json"
    peak_fp32 = matmul_peak_gflops("float32")

    common = ["--model", "smollm2-135m", "--n", str(n), "--batch-size", "16"]
    ours = run_worker([me, "--worker", "engine", *common, "--out", str(ours_file)], cap_gib=20)
    theirs = run_worker([me, "--worker", "lmeval", *common, "--out", str(theirs_file)], cap_gib=20)
    profile_n = min(n, int(os.environ.get("BENCH_PROFILE_N", 48)))
    profile_args = ["--model", "smollm2-135m", "--n", str(profile_n), "--batch-size", "16"]
    profile = run_worker([me, "--worker", "profile", *profile_args], cap_gib=20)
    ref_n = min(n, 40)
    ref = run_worker([me, "--worker", "reference", "--n", str(ref_n)], cap_gib=20)
    a = json.loads(ours_file.read_text())
    b = json.loads(theirs_file.read_text())
    diffs = [abs(x - y) for x, y in zip(a, b, strict=True)]
    ours_vs_exact = [abs(x - y) for x, y in zip(a, ref["values"], strict=False)]
    theirs_vs_exact = [abs(x - y) for x, y in zip(b, ref["values"], strict=False)]

    gemma = ["--model", "gemma3-270m", "--n", str(memory_n), "--batch-size", "16"]
    ours_mem = run_worker([me, "--worker", "engine", *gemma], cap_gib=20)
    theirs_mem = run_worker([me, "--worker", "lmeval", *gemma], cap_gib=20)

    return {
        "throughput_smollm2_gsm8k": {
            "requests": n,
            "batch_size": 16,
            "engine_requests_per_s": ours["requests_per_s"],
            "lmeval_requests_per_s": theirs["requests_per_s"],
            "speedup": ours["requests_per_s"] / theirs["requests_per_s"],
            "engine_seconds": ours["seconds"],
            "lmeval_seconds": theirs["seconds"],
            "engine_forward_tokens": ours["tokens"],
            "engine_flops": ours["flops"],
            "lmeval_flops_estimate": theirs["flops_estimate"],
            "flop_ratio_lmeval_over_engine": theirs["flops_estimate"] / ours["flops"],
            "engine_gflops_per_s": ours["gflops_per_s"],
            "lmeval_gflops_per_s": theirs["gflops_per_s"],
        },
        "agreement_with_lmeval": {
            "max_abs_diff_nats": max(diffs),
            "mean_abs_diff_nats": sum(diffs) / len(diffs),
            "share_within_1e-3": sum(d <= 1e-3 for d in diffs) / len(diffs),
            "float64_reference_requests": len(ours_vs_exact),
            "engine_max_abs_diff_vs_float64": max(ours_vs_exact),
            "lmeval_max_abs_diff_vs_float64": max(theirs_vs_exact),
        },
        "memory_gemma3_270m_batch16": {
            "requests": memory_n,
            "model_fp32_gib": ours_mem.get("model_fp32_gib"),
            "engine_peak_rss_gib": ours_mem["peak_rss_gib"],
            "engine_budget_gib": (ours_mem.get("model_fp32_gib") or 0) + 1.5,
            "lmeval_peak_rss_gib": theirs_mem["peak_rss_gib"],
            "lmeval_killed_at_cap": theirs_mem["killed_at_cap"],
            "cap_gib": 20,
        },
        "profile_breakdown": {
            "requests": profile_n,
            "note": "torch.profiler, top-level operators; share of wall time under the profiler",
            "share": profile["share"],
            "other_body_kernels_top": profile["other_body_kernels_top"],
            "seconds": profile["seconds"],
        },
        "compute_efficiency": {
            "matmul_peak_fp32_gflops": peak_fp32,
            "engine_gflops_per_s": ours["gflops_per_s"],
            "share_of_peak": ours["gflops_per_s"] / peak_fp32,
        },
    }


if __name__ == "__main__":
    if "--worker" in sys.argv:
        main()
    else:
        result = run()
        print(json.dumps(result, indent=1))
        print("wrote", write_result("engine", result))
