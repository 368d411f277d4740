"""Generation throughput (tokens/s): lmforecast's decoder vs transformers ``generate``.

Same loaded model (smollm2-135m, float32), same prompts (gsm8k:gold questions without the
few-shot examples, so prompts are short and decoding dominates), greedy, a fixed number of new
tokens with no stop sequence so both generate exactly the same amount; batch 1 and batch 16.
"""

from __future__ import annotations

import os
import time
from typing import Any


def _prompts(n: int) -> list[str]:
    from lmforecast.tasks import get_task

    docs = get_task("gsm8k:gold", limit=n).docs
    return [f"Question: {d.extra['question']}\nAnswer:" for d in docs]


def _ours(model: Any, prompts: list[str], batch: int, new_tokens: int) -> tuple[float, int]:
    from lmforecast.engine.generate import GenerationConfig, generate

    config = GenerationConfig(max_tokens=new_tokens, batch_size=batch, ignore_eos=True)
    t = time.perf_counter()
    out = generate(model, prompts, config)
    return time.perf_counter() - t, sum(g[0].num_tokens for g in out)


def _transformers(model: Any, prompts: list[str], batch: int, new_tokens: int) -> tuple[float, int]:
    import torch

    tok = model.tokenizer
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tokens = 0
    t = time.perf_counter()
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
        tokens += (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
    return time.perf_counter() - t, tokens


def run() -> dict[str, Any]:
    from lmforecast.models import load_model

    n = int(os.environ.get("BENCH_GEN_N", 16))
    new_tokens = int(os.environ.get("BENCH_GEN_TOKENS", 64))
    model = load_model("smollm2-135m")
    # No eos: force the same token count for both (ignore_eos equivalent).
    model.module.generation_config.eos_token_id = None
    prompts = _prompts(n)
    result: dict[str, Any] = {"model": "smollm2-135m", "prompts": n, "new_tokens": new_tokens}
    for batch in (1, 16):
        ours_s, ours_tok = _ours(model, prompts, batch, new_tokens)
        ref_s, ref_tok = _transformers(model, prompts, batch, new_tokens)
        result[f"batch_{batch}"] = {
            "lmforecast_tokens_per_s": ours_tok / ours_s,
            "transformers_tokens_per_s": ref_tok / ref_s,
            "ratio": (ours_tok / ours_s) / (ref_tok / ref_s),
            "lmforecast_tokens": ours_tok,
            "transformers_tokens": ref_tok,
        }
    return result
