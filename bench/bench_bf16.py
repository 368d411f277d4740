"""bfloat16 against float32, side by side in one run: speed, deviation, and what it changes.

1. Engine speed on ``smollm2-135m`` over the first N ``gsm8k:gold`` requests, each dtype in its
   own worker process (same requests, same batch size, a short warm-up first): requests/s of
   both and their ratio, and the per-request deviation of bf16's log-likelihood from fp32's
   (nats: max, mean absolute, and per token).
2. This machine's matmul peak in both dtypes, measured now, with the CPU's bf16 features: the
   speed-up bf16 can give is bounded by them (avx512_bf16 alone peaks near fp32's; AMX far above).
3. The ``ci`` population: Patel's experiment in fp32 (the default store: reused when stored) and
   in bf16 (scored once, into a temporary store). Per Patel proxy, Spearman between the bf16 and
   fp32 rankings of every base checkpoint (task means), and whether setting (a)'s headline (best
   single proxy and its correlation with accuracy) changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from common import cpuinfo, matmul_peak_gflops, run_worker, write_result

MODEL = "smollm2-135m"
CI_DOCS = 48  # as bench_coverage scores the ci population, so its fp32 scores are reused
WARMUP = 8


def worker_engine(dtype: str, n: int, batch_size: int, out: Path) -> dict[str, Any]:
    """Time the engine on ``n`` requests after a warm-up; write per-request sums and lengths."""
    import torch

    from lmforecast.engine import ScoreConfig, ScoringEngine
    from lmforecast.models import load_model
    from lmforecast.tasks import get_task

    model = load_model(MODEL, dtype=dtype)
    reqs = list(get_task("gsm8k:gold", limit=n).requests)
    config = ScoreConfig(batch_size=batch_size)
    ScoringEngine(model, config).score(reqs[:WARMUP])  # kernels chosen and caches made
    engine = ScoringEngine(model, config)
    t = time.perf_counter()
    scores = engine.score(reqs)
    seconds = time.perf_counter() - t
    out.write_text(
        json.dumps(
            {"sums": [s.logprob_sum for s in scores], "tokens": [s.num_tokens for s in scores]}
        )
    )
    cost = engine.cost()
    return {
        "dtype": model.dtype_name,
        "fingerprint": model.fingerprint,
        "seconds": seconds,
        "requests_per_s": n / seconds,
        "gflops_per_s": cost.flops / seconds / 1e9,
        "threads": torch.get_num_threads(),
    }


def deviation(fp32: dict[str, list[float]], bf16: dict[str, list[float]]) -> dict[str, float]:
    """bf16's per-request log-likelihood against fp32's, in nats.

    >>> d = deviation({"sums": [-10.0, -20.0], "tokens": [10, 20]},
    ...               {"sums": [-10.5, -19.0], "tokens": [10, 20]})
    >>> d["max_abs_nats"], d["mean_abs_nats"], d["max_abs_nats_per_token"]
    (1.0, 0.75, 0.05)
    """
    a, b = np.asarray(fp32["sums"]), np.asarray(bf16["sums"])
    diff = np.abs(a - b)
    per_token = diff / np.asarray(fp32["tokens"], float)
    return {
        "max_abs_nats": float(diff.max()),
        "mean_abs_nats": float(diff.mean()),
        "mean_signed_nats": float((b - a).mean()),
        "max_abs_nats_per_token": float(per_token.max()),
        "mean_abs_nats_per_token": float(per_token.mean()),
        "mean_tokens_per_request": float(np.mean(fp32["tokens"])),
    }


def engine_side_by_side(n: int, batch_size: int = 16) -> dict[str, Any]:
    me = str(Path(__file__).resolve())
    tmp = Path(tempfile.mkdtemp(prefix="bench_bf16_"))
    runs, values = {}, {}
    for dtype in ("float32", "bfloat16"):
        out = tmp / f"{dtype}.json"
        args = [me, "--worker", "engine", "--dtype", dtype, "--n", str(n)]
        runs[dtype] = run_worker([*args, "--batch-size", str(batch_size), "--out", str(out)], 20)
        values[dtype] = json.loads(out.read_text())
    fp32, bf16 = runs["float32"], runs["bfloat16"]
    return {
        "model": MODEL,
        "task": "gsm8k:gold",
        "requests": n,
        "batch_size": batch_size,
        "fp32_requests_per_s": fp32["requests_per_s"],
        "bf16_requests_per_s": bf16["requests_per_s"],
        "speedup_bf16_over_fp32": bf16["requests_per_s"] / fp32["requests_per_s"],
        "fp32_seconds": fp32["seconds"],
        "bf16_seconds": bf16["seconds"],
        "fp32_gflops_per_s": fp32["gflops_per_s"],
        "bf16_gflops_per_s": bf16["gflops_per_s"],
        "fingerprints_differ": fp32["fingerprint"] != bf16["fingerprint"],
        "threads": fp32["threads"],
        "deviation_bf16_vs_fp32": deviation(values["float32"], values["bfloat16"]),
    }


def cpu_features() -> dict[str, Any]:
    """What bounds bf16 here: the CPU's bf16 instructions as the kernel exposes them."""
    import torch

    flags = cpuinfo().get("flags", "").split()
    return {
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "avx512_fp16": "avx512_fp16" in flags,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def ranking_agreement(fp32: Any, bf16: Any) -> dict[str, Any]:
    """Per Patel proxy: Spearman between the bf16 and fp32 rankings of every base checkpoint
    (each checkpoint's mean over tasks), and per (proxy, task); summaries of both."""
    from lmforecast.forecast.agreement import spearman
    from lmforecast.signals.proxies import proxy_names

    names = proxy_names()
    a = fp32.proxies.set_index(["model_id", "task"]).sort_index()
    b = bf16.proxies.set_index(["model_id", "task"]).sort_index()
    if not a.index.equals(b.index):
        raise RuntimeError("bf16 and fp32 runs scored different (model, task) rows")
    mean_a, mean_b = a.groupby(level=0)[names].mean(), b.groupby(level=0)[names].mean()
    per_proxy = {p: spearman(mean_b[p], mean_a[p]) for p in names}
    tasks = sorted(set(a.index.get_level_values(1)))
    per_task = [spearman(b.xs(t, level=1)[p], a.xs(t, level=1)[p]) for p in names for t in tasks]
    return {
        "models": int(mean_a.shape[0]),
        "tasks": tasks,
        "per_proxy_task_mean": summary(per_proxy.values()),
        "per_proxy_and_task": summary(per_task),
        "lowest_proxies": dict(sorted(per_proxy.items(), key=lambda kv: kv[1])[:5]),
        "spearman_per_proxy": per_proxy,
    }


def summary(values: Any) -> dict[str, Any]:
    """min, median, how many reach 0.99 (constant proxies, with no ranking, counted apart).

    >>> summary([1.0, 0.995, 0.9, float("nan")])
    {'count': 4, 'min': 0.9, 'median': 0.995, 'at_least_0.99': 2, 'undefined': 1}
    """
    v = np.asarray(list(values), float)
    ok = v[np.isfinite(v)]
    return {
        "count": int(v.size),
        "min": float(ok.min()) if ok.size else float("nan"),
        "median": float(np.median(ok)) if ok.size else float("nan"),
        "at_least_0.99": int((ok >= 0.99).sum()),
        "undefined": int(v.size - ok.size),
    }


def headline(result: Any) -> dict[str, Any]:
    """Setting (a)'s headline: the single proxy that ranks the final models best."""
    from lmforecast.report.patel import selection_headline

    boot = result.selection_bootstrap
    top = boot.loc[boot["spearman"].idxmax()] if not boot.empty else None
    return {
        "sentence": selection_headline(result.to_dict()),
        "best_signal": None if top is None else str(top["signal"]),
        "spearman": None if top is None else float(top["spearman"]),
        "tied_best": []
        if top is None
        else list(boot[boot["spearman"] == top["spearman"]]["signal"]),
    }


def ci_population(workers: int = 2) -> dict[str, Any]:
    from lmforecast.experiments.patel import PatelConfig, run_patel
    from lmforecast.store import Store
    from lmforecast.testbed import build

    build("ci", 0)  # reused when built
    base = {"preset": "ci", "seed": 0, "docs_per_task": CI_DOCS, "workers": workers}
    t = time.perf_counter()
    fp32 = run_patel(PatelConfig(**base))  # type: ignore[arg-type]
    fp32_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="bench_bf16_store_") as tmp:
        t = time.perf_counter()
        bf16 = run_patel(PatelConfig(**base, dtype="bfloat16"), store=Store(Path(tmp)))  # type: ignore[arg-type]
        bf16_s = time.perf_counter() - t
    heads = {"float32": headline(fp32), "bfloat16": headline(bf16)}
    signals = _signal_change(fp32, bf16)
    return {
        "preset": "ci",
        "docs_per_task": CI_DOCS,
        "fp32_experiment_seconds": fp32_s,
        "bf16_experiment_seconds": bf16_s,
        "bf16_result_dtype": bf16.dtype,
        "rankings_bf16_vs_fp32": ranking_agreement(fp32, bf16),
        "headline": heads,
        "headline_changes": heads["float32"]["sentence"] != heads["bfloat16"]["sentence"],
        "best_proxy_changes": heads["float32"]["best_signal"] != heads["bfloat16"]["best_signal"],
        "signal_vs_accuracy_max_abs_change": signals,
    }


def _signal_change(fp32: Any, bf16: Any) -> float:
    """Largest change, over every registered signal, of its Spearman with accuracy."""
    a, b = fp32.signals, bf16.signals
    if a.empty or "spearman" not in a:
        return float("nan")
    keys = [c for c in ("signal", "task") if c in a]
    joined = a.merge(b, on=keys, suffixes=("_fp32", "_bf16"))
    return float(np.nanmax(np.abs(joined["spearman_fp32"] - joined["spearman_bf16"])))


def run(n: int | None = None) -> dict[str, Any]:
    n = n or int(os.environ.get("BENCH_BF16_N", 200))
    start = time.perf_counter()
    peaks = {d: matmul_peak_gflops(d) for d in ("float32", "bfloat16")}
    result = {
        "cpu": cpu_features(),
        "matmul_peak_gflops": {
            **peaks,
            "ratio_bf16_over_fp32": peaks["bfloat16"] / peaks["float32"],
        },
        "engine_smollm2_gsm8k": engine_side_by_side(n),
        "patel_ci": ci_population(),
    }
    result["seconds"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=["engine"])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker == "engine":
        print(json.dumps(worker_engine(args.dtype, args.n, args.batch_size, args.out)))


if __name__ == "__main__":
    if "--worker" in sys.argv:
        main()
    else:
        result = run()
        print(json.dumps(result, indent=1))
        print("wrote", write_result("bf16", result))
