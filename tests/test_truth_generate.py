"""Our decoding loop against transformers' own ``generate``, and its reproducibility rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from lmforecast.engine.generate import Generation, GenerationConfig, generate, trim_at_stop
from lmforecast.models import LoadedModel, load_model

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:",
]


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LoadedModel]:
    """SmolLM2 with one intra-op thread: on this shared 2-core machine two OpenMP threads
    stall on each other under load (measured 10x slower per decoding step); restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield load_model("smollm2-135m")
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LoadedModel:
    return load_model(str(tiny_llama_dir))


def hf_greedy(model: LoadedModel, prompt: str, max_new: int) -> list[int]:
    ids = torch.tensor([model.encode(prompt)])
    out = model.module.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=max_new,
        pad_token_id=model.tokenizer.pad_token_id,
    )
    return [int(t) for t in out[0, ids.shape[1] :]]


def ids(gens: list[list[Generation]]) -> list[list[tuple[int, ...]]]:
    return [[g.token_ids for g in per_prompt] for per_prompt in gens]


@pytest.mark.slow
def test_greedy_equals_transformers_generate_at_batch_1_and_batched(smollm2: LoadedModel) -> None:
    ours = generate(smollm2, PROMPTS, GenerationConfig(max_tokens=16, batch_size=1))
    for prompt, gens in zip(PROMPTS, ours, strict=True):
        reference = hf_greedy(smollm2, prompt, 16)
        assert list(gens[0].token_ids) == reference
        expected_reason = "eos" if reference[-1] in smollm2.eos_token_ids else "length"
        assert gens[0].finish_reason == expected_reason
        assert gens[0].num_tokens == len(reference)
    batched = generate(smollm2, PROMPTS, GenerationConfig(max_tokens=16, batch_size=3))
    assert ids(batched) == ids(ours)  # left padding and position ids change nothing


@pytest.mark.slow
def test_same_seed_same_samples_at_any_batch_size(smollm2: LoadedModel) -> None:
    cfg = dict(temperature=0.9, top_p=0.95, seed=7, n_samples=2, max_tokens=10)
    one = generate(smollm2, PROMPTS, GenerationConfig(batch_size=1, **cfg))
    four = generate(smollm2, PROMPTS, GenerationConfig(batch_size=4, **cfg))
    assert ids(one) == ids(four)
    flat = [s for per in ids(one) for s in per]
    assert len(set(flat)) > 1  # sampling actually varies


def test_stop_sequences_trim_like_lm_eval(tiny: LoadedModel) -> None:
    full = generate(tiny, PROMPTS, GenerationConfig(max_tokens=40))
    stops = tuple({g[0].text[5:7] for g in full if len(g[0].text) > 8})  # strings that do occur
    assert stops
    stopped = generate(tiny, PROMPTS, GenerationConfig(max_tokens=40, stop=stops))
    for f, s in zip(full, stopped, strict=True):
        expected, hit = trim_at_stop(f[0].text, stops)
        assert s[0].text == expected
        if hit:
            assert s[0].finish_reason == "stop"
            assert s[0].num_tokens <= f[0].num_tokens
            assert f[0].token_ids[: s[0].num_tokens] == s[0].token_ids  # stopped early, same path


def test_trim_at_stop_takes_the_earliest_stop() -> None:
    assert trim_at_stop("a\n\nQuestion: b", ["Question:", "\n\n"]) == ("a", True)
    assert trim_at_stop("abc", ["", "x"]) == ("abc", False)


def test_sampling_reproducible_and_independent_of_order_on_tiny(tiny: LoadedModel) -> None:
    cfg = GenerationConfig(temperature=1.0, seed=3, n_samples=3, max_tokens=10, batch_size=2)
    a = generate(tiny, PROMPTS, cfg)
    b = generate(tiny, list(reversed(PROMPTS)), cfg, prompt_indices=[2, 1, 0])
    assert ids(a) == list(reversed(ids(b)))
    greedy = generate(tiny, PROMPTS, GenerationConfig(n_samples=3, max_tokens=10))
    assert all(len(set(per)) == 1 for per in ids(greedy))  # greedy samples are one sequence


def test_long_prompts_are_left_truncated_and_recorded(tiny: LoadedModel) -> None:
    long_prompt = "The quick brown fox jumps over the lazy dog. " * 200
    n_tokens = len(tiny.encode(long_prompt))
    assert n_tokens > tiny.max_length
    gens = generate(tiny, [long_prompt, "short"], GenerationConfig(max_tokens=16))
    g = gens[0][0]
    assert g.prompt_tokens + 16 == tiny.max_length
    assert g.truncated_tokens == n_tokens - g.prompt_tokens
    assert gens[1][0].truncated_tokens == 0
    assert g.num_tokens <= 16


def test_progress_and_token_callbacks(tiny: LoadedModel) -> None:
    seen: list[tuple[int, int]] = []
    tokens: list[int] = []
    gens = generate(
        tiny,
        PROMPTS,
        GenerationConfig(max_tokens=6, batch_size=2),
        lambda d, t: seen.append((d, t)),
        on_tokens=tokens.append,
    )
    assert seen[-1] == (3, 3) and [d for d, _ in seen] == [1, 2, 3]
    assert sum(tokens) == sum(g[0].num_tokens for g in gens)


def test_config_is_strict() -> None:
    with pytest.raises(ValueError):
        GenerationConfig(temprature=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        GenerationConfig(top_p=0.0)
    cfg = GenerationConfig()
    with pytest.raises(ValueError):
        cfg.seed = 3  # type: ignore[misc]


def test_ignore_eos_generates_exactly_max_tokens(tiny: LoadedModel) -> None:
    eos = tiny.eos_token_ids[0]
    # Make EOS the arg-max everywhere: without ignore_eos every row stops after one token.
    bias = torch.zeros(tiny.vocab_size)
    bias[eos] = 1e4
    head = tiny.module.get_output_embeddings()
    old = head.bias
    head.bias = torch.nn.Parameter(bias)
    try:
        prompts = ["a b", "c d e", "f"]
        short = generate(tiny, prompts, GenerationConfig(max_tokens=7, batch_size=2))
        assert all(g[0].finish_reason == "eos" and g[0].num_tokens == 1 for g in short)
        full = generate(
            tiny, prompts, GenerationConfig(max_tokens=7, batch_size=2, ignore_eos=True)
        )
        assert all(g[0].finish_reason == "length" and g[0].num_tokens == 7 for g in full)
    finally:
        head.bias = old


def test_samples_under_a_shared_prompt_cache_equal_those_without(tiny: LoadedModel) -> None:
    # 8 samples of each prompt: with sharing each prompt is prefilled once and its cache copied
    # to its rows; the samples, drawn from per-row generators, are the same for the same seeds.
    shared = GenerationConfig(temperature=0.8, seed=5, n_samples=8, max_tokens=12, batch_size=16)
    alone = shared.model_copy(update={"share_prompt_cache": False})
    assert shared.share_prompt_cache and not alone.share_prompt_cache
    a, b = generate(tiny, PROMPTS, shared), generate(tiny, PROMPTS, alone)
    assert ids(a) == ids(b)
    assert any(len(set(per)) > 1 for per in ids(a))  # the samples do differ from each other


def test_generation_records_its_own_logprobs(tiny: LoadedModel) -> None:
    cfg = GenerationConfig(max_tokens=6, logprobs=True)
    gen = generate(tiny, PROMPTS[:1], cfg)[0][0]
    assert len(gen.token_logprobs) == len(gen.token_ids) == gen.num_tokens
    ids_ = tiny.encode(PROMPTS[0]) + list(gen.token_ids)
    with torch.no_grad():
        logits = tiny.module(input_ids=torch.tensor([ids_])).logits[0].double().log_softmax(-1)
    start = len(ids_) - len(gen.token_ids)
    for k, (tok, lp) in enumerate(zip(gen.token_ids, gen.token_logprobs, strict=True)):
        assert abs(float(logits[start + k - 1, tok]) - lp) < 1e-4
