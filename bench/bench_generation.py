"""Generation throughput (tokens/s): lmforecast's decoder vs transformers ``generate``.

Same loaded model (smollm2-135m, float32), side by side in one process:

- greedy, batch 1 and batch 16: gsm8k:gold questions without the few-shot examples (short
  prompts, so decoding dominates), a fixed number of new tokens with no stop sequence so both
  generate exactly the same amount; the greedy tokens of both are compared (``identical``);
- n samples of one prompt: ``n_samples = 8`` of one full gsm8k:gold prompt (8-shot, ~900
  tokens, as ground-truth pass@k runs use) decoded from one prefill, against the same 8
  sequences as 8 independent prompts (each prefilled), both at batch 8, and against 8 separate
  generations at batch 1.

Wall-clock ratios are the figures; each side's CPU seconds (process time) are recorded too,
since on a machine shared with other work they are less disturbed by the others' load.

What bounds the greedy ratios (``ceiling``): both decoders run the same prefill and the same
float32 linear layers at every step. The ceiling is transformers' time over ours with nothing
but those: our measured prefill (``max_tokens=1``) plus, per step, the model's own linear
layers (output layer included) timed alone at the batch's row count. At one row that time is
the weights streamed from memory once per token (``weights_gb_per_s``), at 16 rows MKL's
small-row sgemm; no decoder that keeps these exact float32 kernels (and so greedy tokens equal
to ``generate``'s) can beat it.
"""

from __future__ import annotations

import os
import time
from typing import Any

_CPU: dict[str, float] = {}  # process seconds of the last timed call


def _prompts(n: int, few_shot: bool = False) -> list[str]:
    from lmforecast.tasks import get_task

    docs = get_task("gsm8k:gold", limit=n).docs
    if few_shot:
        return [d.prompt for d in docs]
    return [f"Question: {d.extra['question']}\nAnswer:" for d in docs]


def _ours(model: Any, prompts: list[str], **settings: Any) -> tuple[float, list[tuple[int, ...]]]:
    from lmforecast.engine.generate import GenerationConfig, generate

    config = GenerationConfig(ignore_eos=True, **settings)
    t, cpu = time.perf_counter(), time.process_time()
    out = generate(model, prompts, config)
    _CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - t, [g.token_ids for gens in out for g in gens]


def _transformers(
    model: Any, prompts: list[str], batch: int, new_tokens: int
) -> tuple[float, list[tuple[int, ...]]]:
    import torch

    tok = model.tokenizer
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    ids: list[tuple[int, ...]] = []
    t, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i : i + batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.module.generate(
                **enc,
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                pad_token_id=tok.pad_token_id,
            )
        ids += [tuple(int(x) for x in row) for row in out[:, enc["input_ids"].shape[1] :]]
    _CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - t, ids


def _greedy(model: Any, prompts: list[str], batch: int, new_tokens: int) -> dict[str, Any]:
    # Sorted longest first, as our decoder batches them, so both see the same batches.
    prompts = sorted(prompts, key=lambda p: -len(model.encode(p)))
    ours_s, ours = _ours(model, prompts, max_tokens=new_tokens, batch_size=batch)
    ours_cpu = _CPU["last"]
    ref_s, ref = _transformers(model, prompts, batch, new_tokens)
    ref_cpu = _CPU["last"]
    ours_tok, ref_tok = sum(map(len, ours)), sum(map(len, ref))
    return {
        "ceiling": _ceiling(model, prompts, batch, new_tokens, ref_s),
        "lmforecast_tokens_per_s": ours_tok / ours_s,
        "transformers_tokens_per_s": ref_tok / ref_s,
        "ratio": (ours_tok / ours_s) / (ref_tok / ref_s),
        "lmforecast_tokens": ours_tok,
        "transformers_tokens": ref_tok,
        "lmforecast_cpu_s": ours_cpu,
        "transformers_cpu_s": ref_cpu,
        "cpu_ratio": ref_cpu / ours_cpu,
        "identical": ours == ref,
        "identical_rows": sum(a == b for a, b in zip(ours, ref, strict=True)),
    }


def _linears(model: Any) -> list[Any]:
    """The model's linear layers, output layer included: what every decoding step multiplies by."""
    import torch

    return [m for m in model.module.modules() if isinstance(m, torch.nn.Linear)]


def _linear_step_seconds(model: Any, rows: int, repeats: int = 5) -> float:
    """Seconds the model's linear layers (output layer included) take for one step of ``rows``."""
    import torch

    linears = _linears(model)
    inputs = {m.in_features: torch.randn(rows, m.in_features) for m in linears}
    with torch.inference_mode():
        for m in linears:  # warm-up
            m(inputs[m.in_features])
        t = time.perf_counter()
        for _ in range(repeats):
            for m in linears:
                m(inputs[m.in_features])
    return (time.perf_counter() - t) / repeats


def _ceiling(
    model: Any, prompts: list[str], batch: int, new_tokens: int, transformers_s: float
) -> dict[str, Any]:
    """The best ratio any decoder with the same prefill and float32 linear kernels could reach."""
    # generate() orders prompts longest first itself, so the prefill batches are its own.
    prefill_s, _ = _ours(model, prompts, max_tokens=1, batch_size=batch)
    step_s = _linear_step_seconds(model, batch)
    batches = -(-len(prompts) // batch)
    floor_s = prefill_s + batches * (new_tokens - 1) * step_s
    weight_bytes = sum(m.weight.numel() * m.weight.element_size() for m in _linears(model))
    return {
        "prefill_s": prefill_s,
        "linear_layers_step_ms": step_s * 1e3,
        "weights_gb_per_s": weight_bytes / step_s / 1e9,
        "floor_s": floor_s,
        "ceiling_ratio": transformers_s / floor_s,
    }


def _samples(model: Any, prompt: str, n: int, new_tokens: int) -> dict[str, Any]:
    cfg = {"temperature": 1.0, "seed": 0, "max_tokens": new_tokens}
    shared_s, shared = _ours(model, [prompt], n_samples=n, batch_size=n, **cfg)
    batched_s, _ = _ours(model, [prompt] * n, batch_size=n, **cfg)
    alone_s = 0.0
    for _ in range(n):
        s, _ = _ours(model, [prompt], batch_size=1, **cfg)
        alone_s += s
    return {
        "n_samples": n,
        "prompt_tokens": len(model.encode(prompt)),
        "one_prefill_s": shared_s,
        "independent_prompts_batched_s": batched_s,
        "independent_prompts_one_by_one_s": alone_s,
        "speedup_vs_batched": batched_s / shared_s,
        "speedup_vs_one_by_one": alone_s / shared_s,
        "tokens": sum(map(len, shared)),
    }


def run() -> dict[str, Any]:
    import torch

    from lmforecast.models import load_model

    n = int(os.environ.get("BENCH_GEN_N", 16))
    new_tokens = int(os.environ.get("BENCH_GEN_TOKENS", 64))
    model = load_model("smollm2-135m")
    # No eos: force the same token count for both (ignore_eos equivalent).
    model.module.generation_config.eos_token_id = None
    prompts = _prompts(n)
    result: dict[str, Any] = {
        "model": "smollm2-135m",
        "prompts": n,
        "new_tokens": new_tokens,
        "threads": torch.get_num_threads(),
    }
    for batch in (1, 16):
        result[f"batch_{batch}"] = _greedy(model, prompts, batch, new_tokens)
    result["samples_one_prefill"] = _samples(model, _prompts(1, few_shot=True)[0], 8, new_tokens)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
