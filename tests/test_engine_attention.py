"""Grouped-query attention without key/value copies: the scores must not change by a bit.

The engine switches grouped-query models to :mod:`lmforecast.engine.attention` for its passes;
with the switch and without it (transformers' own ``repeat_kv`` path) every score is the same
float, on a Llama (plain causal) and a Gemma 3 (sliding-window layers), with shared prefixes and
packed units; the model is handed back as loaded.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_engine_packing import mc_requests

from lmforecast.engine import ScoreConfig, ScoringEngine, scorer
from lmforecast.engine import attention as attn
from lmforecast.models import load_model


def _scores(model: Any, config: ScoreConfig) -> list[Any]:
    return ScoringEngine(model, config).score(mc_requests())


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_grouped_attention_gives_the_same_scores_to_the_bit(
    which: str,
    tiny_llama_dir: Path,
    tiny_gemma_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = load_model(str(tiny_llama_dir if which == "llama" else tiny_gemma_dir))
    assert model.module.config._attn_implementation == "sdpa"
    calls = {"grouped": 0}
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls["grouped"] += bool(kwargs.get("enable_gqa")) and kwargs.get("attn_mask") is not None
        return real(*args, **kwargs)

    config = ScoreConfig(batch_size=5, min_prefix_tokens=4, unit_size=12)
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    grouped = _scores(model, config)
    assert calls["grouped"] > 0  # the new path did run
    assert model.module.config._attn_implementation == "sdpa"  # handed back as loaded
    monkeypatch.setattr(scorer, "grouped_attention", lambda module: nullcontext(False))
    calls["grouped"] = 0
    copied = _scores(model, config)
    assert calls["grouped"] == 0  # transformers' own path copies the heads
    for g, c in zip(grouped, copied, strict=True):
        assert g.logprob_sum == c.logprob_sum
        np.testing.assert_array_equal(g.logprob, c.logprob)
        np.testing.assert_array_equal(g.entropy, c.entropy)
        np.testing.assert_array_equal(g.rank, c.rank)


def test_only_sdpa_models_are_switched_and_always_switched_back(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    config = model.module.config
    with pytest.raises(RuntimeError, match="boom"), attn.grouped_attention(model.module) as on:
        assert on and config._attn_implementation == attn.IMPLEMENTATION
        raise RuntimeError("boom")
    assert config._attn_implementation == "sdpa"
    config._attn_implementation = "eager"
    with attn.grouped_attention(model.module) as on:
        assert not on and config._attn_implementation == "eager"
