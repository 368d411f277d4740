"""Benchmark: testbed training throughput per model size, float32 vs bf16 autocast.

Reports tokens/s and achieved GFLOP/s (6·N + attention, as the manifest counts FLOPs) for every
size of every family, and the share of this machine's matmul peak measured in the same run with
a large ``torch.matmul`` — all on one thread, as each build worker trains. Also reports the
share of pretraining time the in-training signals take (recorded at every checkpoint by the
build itself, so both figures come from the same runs) for a built ``ci`` population. Writes
``bench/results/testbed.json``. Run: ``.venv/bin/python bench/bench_testbed.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from lmforecast.testbed import architectures
from lmforecast.testbed.presets import PRESETS

RESULTS = Path(__file__).parent / "results" / "testbed.json"


def matmul_peak(dtype: torch.dtype, n: int = 1536, reps: int = 4) -> float:
    """GFLOP/s of an n x n x n matmul in ``dtype``."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.matmul(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        torch.matmul(a, b)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def train_throughput(
    family: str, size: str, bf16: bool, batch: int, seq: int, steps: int = 6
) -> dict[str, Any]:
    """Tokens/s and GFLOP/s of the training step of one size."""
    fam = architectures.FAMILIES[family]
    cfg = architectures.build_config(fam, fam.size(size), 256, 0)
    torch.manual_seed(0)
    model = architectures.build_model(cfg)
    n, total = architectures.count_params(model)
    per_token = architectures.train_flops_per_token(cfg, n, seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, fam.vocab_size, (batch, seq))
    elapsed = 0.0
    for i in range(steps + 2):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            elapsed += time.perf_counter() - t
    tokens_s = batch * seq * steps / elapsed
    return {
        "family": family,
        "size": size,
        "params": n,
        "params_total": total,
        "dtype": "bf16-autocast" if bf16 else "float32",
        "tokens_per_s": round(tokens_s),
        "gflops": round(tokens_s * per_token / 1e9, 2),
    }


def training_signals_share(preset: str = "ci", seed: int = 0) -> dict[str, Any]:
    """Seconds recording in-training signals over seconds pretraining, per run and in total,
    as the build of ``preset`` measured them (built with this version: else it says why not)."""
    from lmforecast.core.errors import UserError
    from lmforecast.testbed import training_time
    from lmforecast.testbed.training_signals import SIGNAL_DOCS, SIGNALS, time_share

    try:
        times = training_time(preset, seed)
    except UserError as e:
        return {"preset": preset, "skipped": str(e)}
    return {
        "preset": preset,
        "signals": list(SIGNALS),
        "requests_per_checkpoint": int(times["requests_per_checkpoint"].iloc[0]),
        "docs_per_family": SIGNAL_DOCS,
        "share_of_training_time": round(time_share(times), 4),
        "train_seconds": round(float(times["train_seconds"].sum()), 1),
        "signal_seconds": round(float(times["signal_seconds"].sum()), 2),
        "runs": [
            {
                "run_id": r.run_id,
                "checkpoints": int(r.checkpoints),
                "train_seconds": round(float(r.train_seconds), 1),
                "signal_seconds": round(float(r.signal_seconds), 2),
                "share": round(float(r.share), 4),
            }
            for r in times.itertuples(index=False)
        ],
    }


def run() -> dict[str, Any]:
    """Measure and write ``bench/results/testbed.json``."""
    torch.set_num_threads(1)
    train = PRESETS["full"].train
    peak32 = matmul_peak(torch.float32)
    peak16 = matmul_peak(torch.bfloat16)
    sizes = sorted({(r.family, r.size) for r in PRESETS["full"].runs})
    rows = []
    for family, size in sizes:
        for bf16 in (False, True):
            row = train_throughput(family, size, bf16, train.batch_size, train.seq_len)
            row["share_of_peak"] = round(row["gflops"] / (peak16 if bf16 else peak32), 4)
            rows.append(row)
    result = {
        "threads": 1,
        "cpu_count": os.cpu_count(),
        "batch": [train.batch_size, train.seq_len],
        "matmul_peak_gflops": {"float32": round(peak32, 1), "bf16": round(peak16, 1)},
        "training": rows,
        "training_signals": training_signals_share(),
        "note": "one thread, as each build worker; the machine may be shared, so absolute "
        "figures are pessimistic; fp32 vs bf16 ratios hold",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    import transformers

    transformers.utils.logging.set_verbosity_error()
    print(json.dumps(run(), indent=1))
