"""The decoder's parts against references: its random numbers against plain-Python splitmix64,
its sampler against the distribution it samples, its greedy tokens against transformers
``generate``, and its samples against the same rows decoded in other batches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lmforecast.engine.decode_rng import row_key, uniform_reference, uniforms
from lmforecast.engine.decode_sample import sample_tokens
from lmforecast.engine.generate import Generation, GenerationConfig, generate, trim_at_stop
from lmforecast.models import LoadedModel, load_model

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:",
    "a",
    "Once upon a time, in a land far away, there lived a",
]


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LoadedModel:
    return load_model(str(tiny_llama_dir))


@pytest.fixture(scope="module")
def gemma(tiny_gemma_dir: Path) -> LoadedModel:
    return load_model(str(tiny_gemma_dir))


def ids(gens: list[list[Generation]]) -> list[list[tuple[int, ...]]]:
    return [[g.token_ids for g in per_prompt] for per_prompt in gens]


def hf_greedy(model: LoadedModel, prompts: list[str], max_new: int) -> list[tuple[int, ...]]:
    """transformers ``generate`` on one left-padded batch, cut after the first EOS."""
    tok = model.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else model.eos_token_ids[0]
    enc = [model.encode(p) for p in prompts]
    width = max(map(len, enc))
    input_ids = torch.tensor([[pad] * (width - len(e)) + e for e in enc])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in enc])
    with torch.inference_mode():
        out = model.module.generate(
            input_ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=max_new,
            pad_token_id=pad,
        )
    rows = []
    for row in out[:, width:].tolist():
        ends = [k for k, t in enumerate(row) if t in model.eos_token_ids]
        rows.append(tuple(row[: ends[0] + 1] if ends else row))
    return rows


def by_length(model: LoadedModel, prompts: list[str]) -> list[str]:
    """Longest first: the order our decoder batches in, so both sides see the same batches."""
    return sorted(prompts, key=lambda p: -len(model.encode(p)))


def test_uniforms_equal_plain_python_splitmix64() -> None:
    keys = [row_key(seed, p, s) for seed in (0, 7, -3, 2**40) for p in range(25) for s in range(4)]
    t = torch.tensor(keys)
    for step in (0, 1, 17, 255, 10**6):
        expected = torch.tensor([uniform_reference(k, step) for k in keys], dtype=torch.float64)
        assert torch.equal(uniforms(t, step), expected)
    u = uniforms(t, 0)
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert len(set(u.tolist())) == len(keys)  # distinct rows draw distinct numbers


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = probs * counts.sum()
    keep = expected > 0
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.5, 1.0), (1.0, 0.7)])
def test_sampling_follows_the_tempered_nucleus_distribution(temperature: float, top_p: float):
    p = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04], dtype=torch.float64)
    n = 20_000
    keys = torch.tensor([row_key(11, i, 0) for i in range(n)])
    logits = p.log().to(torch.float32).expand(n, -1)
    counts = torch.zeros(6, dtype=torch.float64)
    for step in (0, 1):  # two steps: fresh uniforms per step
        tokens = sample_tokens(logits, uniforms(keys, step), temperature, top_p)
        counts += torch.bincount(tokens, minlength=6).to(torch.float64)
    # The expected distribution, computed independently of the sampler.
    q = p ** (1 / temperature)
    q = q / q.sum()
    if top_p < 1.0:  # 0.4 + 0.25 < 0.7: the nucleus is the three most likely tokens
        q[3:] = 0
        q = q / q.sum()
    assert counts[q == 0].sum() == 0  # nothing outside the nucleus
    # df <= 5; the 0.999 quantile of chi-square(5) is 20.5 (deterministic: fixed keys).
    assert chi_square(counts, q) < 20.5
    assert chi_square(counts, p) > 100 or (temperature == 1.0 and top_p == 1.0)


def test_greedy_equals_transformers_generate_on_tiny_models(tiny: LoadedModel, gemma: LoadedModel):
    for model in (tiny, gemma):
        prompts = by_length(model, PROMPTS)
        for batch in (1, len(prompts)):
            ours = generate(model, prompts, GenerationConfig(max_tokens=12, batch_size=batch))
            reference = [
                t
                for i in range(0, len(prompts), batch)
                for t in hf_greedy(model, prompts[i : i + batch], 12)
            ]
            assert [g[0].token_ids for g in ours] == reference, (model.name, batch)


def test_samples_do_not_depend_on_the_batch(tiny: LoadedModel) -> None:
    cfg = GenerationConfig(temperature=1.0, top_p=0.9, seed=4, n_samples=3, max_tokens=10)
    whole = ids(generate(tiny, PROMPTS, cfg.model_copy(update={"batch_size": 16})))
    for batch in (1, 2, 7):
        assert ids(generate(tiny, PROMPTS, cfg.model_copy(update={"batch_size": batch}))) == whole
    # One prompt alone, named by its index in the whole run, draws the same samples.
    alone = generate(tiny, PROMPTS[2:3], cfg, prompt_indices=[2])
    assert ids(alone)[0] == whole[2]
    reordered = generate(tiny, PROMPTS[::-1], cfg, prompt_indices=range(len(PROMPTS))[::-1])
    assert ids(reordered)[::-1] == whole
    assert len({s for per in whole for s in per}) > len(PROMPTS)  # samples differ


def test_n_samples_from_one_prefill_equal_rows_decoded_alone(tiny: LoadedModel) -> None:
    cfg = GenerationConfig(temperature=2.0, seed=9, n_samples=6, max_tokens=12, batch_size=6)
    shared = ids(generate(tiny, PROMPTS[:2], cfg))
    alone = ids(generate(tiny, PROMPTS[:2], cfg.model_copy(update={"batch_size": 1})))
    unshared = cfg.model_copy(update={"share_prompt_cache": False})
    assert shared == alone == ids(generate(tiny, PROMPTS[:2], unshared))
    assert all(len(set(per)) > 1 for per in shared)


def test_stop_strings_end_rows_at_the_exact_step(tiny: LoadedModel) -> None:
    cfg = GenerationConfig(temperature=1.0, seed=2, n_samples=4, max_tokens=30, batch_size=8)
    full = generate(tiny, PROMPTS, cfg)
    texts = [g.text for per in full for g in per]
    stops = tuple({t[k : k + 2] for t in texts if len(t) > 12 for k in (3, 9)})
    stopped = generate(tiny, PROMPTS, cfg.model_copy(update={"stop": stops}))
    hits = 0
    for f_per, s_per in zip(full, stopped, strict=True):
        for f, s in zip(f_per, s_per, strict=True):
            # The reference: the first prefix of the full run whose text holds a stop string.
            first = next(
                (
                    n
                    for n in range(1, f.num_tokens + 1)
                    if trim_at_stop(tiny.decode(list(f.token_ids[:n])), stops)[1]
                ),
                None,
            )
            assert s.text == trim_at_stop(f.text, stops)[0]
            if first is None:
                assert s.token_ids == f.token_ids and s.finish_reason == f.finish_reason
            else:
                hits += 1
                assert s.token_ids == f.token_ids[:first] and s.finish_reason == "stop"
    assert hits >= 4


def test_max_tokens_and_eos_end_rows(tiny: LoadedModel) -> None:
    gens = generate(tiny, PROMPTS, GenerationConfig(max_tokens=9, batch_size=2))
    for (g,) in gens:
        assert g.num_tokens <= 9
        ended_by_eos = g.token_ids[-1] in tiny.eos_token_ids
        assert g.finish_reason == ("eos" if ended_by_eos else "length")
        assert ended_by_eos or g.num_tokens == 9


@pytest.mark.slow
def test_greedy_equals_transformers_generate_on_smollm2_at_batch_16() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two OpenMP threads stall on each other on a loaded 2-core machine
    try:
        model = load_model("smollm2-135m")
        prompts = by_length(model, [p * (1 + k % 4) for k in range(4) for p in PROMPTS[:4]])
        assert len({len(model.encode(p)) for p in prompts}) > 8  # real left padding
        ours = generate(model, prompts, GenerationConfig(max_tokens=16, batch_size=16))
        assert [g[0].token_ids for g in ours] == hf_greedy(model, prompts, 16)
    finally:
        torch.set_num_threads(threads)
