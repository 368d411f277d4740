"""The engine against a plain transformers forward pass, and against itself across settings.

Reference: one whole-sequence forward per request, float64 log-softmax over the model's own
logits. Every statistic must match; scores must agree to 1e-4 nats per request whatever the
batch size and with or without prefix sharing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lmforecast.engine import ScoreConfig, ScoringEngine, encode_requests
from lmforecast.models import load_model
from lmforecast.tasks import Request, get_task

SHOTS = (
    "Question: There are 15 trees in the grove. How many trees did they plant?\n"
    "Answer: 21 - 15 = 6. So the answer is 6.\n\n"
    "Question: If there are 3 cars and 2 more arrive, how many cars are there?\n"
    "Answer: 3 + 2 = 5. So the answer is 5.\n\n"
)


def synthetic_requests() -> list[Request]:
    """A few-shot prefix shared by most requests, a repeated question, and loners."""
    questions = [
        ("How many trees are in the grove?", " There are 15 trees. So the answer is 15."),
        ("How many cars arrive?", " 2 cars arrive. So the answer is 2."),
        ("How many cars are there?", " 3 + 2 = 5."),
        ("How many cars are there?", " 5 cars. So the answer is 5."),
        ("What is 2 + 3?", " 5"),
    ]
    reqs = [
        Request(i, str(i), SHOTS + f"Question: {q}\nAnswer:", c)
        for i, (q, c) in enumerate(questions)
    ]
    reqs.append(Request(len(reqs), "x", "def add(a, b):\n   ", " return a + b\n"))
    reqs.append(Request(len(reqs), "y", "", "The quick brown fox"))
    reqs.append(Request(len(reqs), "z", "The quick brown ", "fox jumps over the lazy dog."))
    return reqs


def reference(model, requests):  # type: ignore[no-untyped-def]
    """Per request: (sum logprob, logprob, entropy, rank, top1_prob, top1_id) from a full pass."""
    out = []
    for enc in encode_requests(model, requests):
        ids = torch.tensor([list(enc.input_ids)])
        with torch.inference_mode():
            logits = model.module(ids).logits[0, enc.score_start :].double()
        logp = torch.log_softmax(logits, -1)
        t = torch.tensor(enc.targets)
        lp = logp[torch.arange(len(t)), t]
        ent = -(logp.exp() * logp).sum(-1)
        rank = 1 + (logp > lp[:, None]).sum(-1)
        top1 = logp.max(-1)
        out.append((lp.sum().item(), lp, ent, rank, top1.values.exp(), top1.indices))
    return out


def check_against_reference(model, requests, configs, tol=1e-4, token_tol=2e-5):  # type: ignore[no-untyped-def]
    ref = reference(model, requests)
    for config in configs:
        scores = ScoringEngine(model, config).score(requests)
        for (total, lp, ent, rank, p1, id1), s in zip(ref, scores, strict=True):
            assert abs(s.logprob_sum - total) < tol, (config, s.request_index)
            np.testing.assert_allclose(s.logprob, lp.numpy(), atol=token_tol)
            np.testing.assert_allclose(s.entropy, ent.numpy(), atol=token_tol)
            np.testing.assert_allclose(s.top1_prob, p1.numpy(), atol=token_tol)
            # Ranks and arg-max may differ only at exact float ties; none occur here.
            np.testing.assert_array_equal(s.rank, rank.numpy())
            np.testing.assert_array_equal(s.top1_id, id1.numpy())


CONFIGS = [
    ScoreConfig(batch_size=1, prefix_sharing=False),
    ScoreConfig(batch_size=3, prefix_sharing=False),
    ScoreConfig(batch_size=1, prefix_sharing=True, min_prefix_tokens=4),
    ScoreConfig(batch_size=8, prefix_sharing=True, min_prefix_tokens=4),
    # A vocabulary chunk far smaller than the vocabulary: the streaming path is exercised.
    ScoreConfig(batch_size=2, min_prefix_tokens=4, vocab_chunk_elements=4096),
    # Units of 2 requests: one shared prefix spans several units (its cache is reused).
    ScoreConfig(batch_size=2, min_prefix_tokens=4, unit_size=2),
]


def test_llama_matches_plain_forward(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    check_against_reference(model, synthetic_requests(), CONFIGS)


def test_gemma3_sliding_window_and_bos_match_plain_forward(tiny_gemma_dir: Path) -> None:
    model = load_model(str(tiny_gemma_dir))
    assert model.encode("hi")[0] == model.tokenizer.bos_token_id  # this tokenizer adds BOS
    enc = encode_requests(model, synthetic_requests())
    assert enc[0].input_ids[0] == model.tokenizer.bos_token_id
    # The shared prefix (dozens of tokens) is much longer than the sliding window (8).
    plan = ScoringEngine(model, CONFIGS[3]).plan(enc)
    assert max(g.prefix_length for u in plan for g in u.groups) > 4 * 8
    check_against_reference(model, synthetic_requests(), CONFIGS)


def test_plan_shares_the_few_shot_prefix(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    engine = ScoringEngine(model, ScoreConfig(min_prefix_tokens=4))
    enc = engine.encode(synthetic_requests())
    plan = engine.plan(enc)
    covered = sorted(i for u in plan for i in u.members)
    assert covered == list(range(len(enc)))  # every request exactly once
    shared = [g for u in plan for g in u.groups if g.prefix_length > 0]
    assert any(set(range(5)) <= set(g.members) for g in shared)
    for u in plan:  # the prefix never reaches a scored position
        assert all(p <= enc[i].score_start for i, p in u.prefix_lengths().items())


def test_shared_prefix_runs_once_across_units(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    engine = ScoringEngine(model, ScoreConfig(min_prefix_tokens=4, unit_size=2))
    enc = engine.encode(synthetic_requests())
    plan = engine.plan(enc)
    assert all(len(u.groups) == 1 for u in plan)  # one shared group, cut: nothing to pack
    prefixes = {tuple(enc[u.members[0]].input_ids[: u.groups[0].prefix_length]) for u in plan}
    assert len(plan) > len(prefixes)  # some prefix spans several units
    engine.score_encoded(enc)
    prefix_of = {i: p for u in plan for i, p in u.prefix_lengths().items()}
    suffix_tokens = sum(len(enc[i].input_ids) - p for i, p in prefix_of.items())
    cost = engine.cost()
    assert cost.forward_tokens == suffix_tokens + sum(len(p) for p in prefixes)
    # FLOPs by hand: body 2N per forward token, head 2·V·d per scored token, attention
    # 4·layers·d_attn per causal (query, key) pair: a prefix of P attends P(P+1)/2 pairs, a
    # suffix token at offset j below it P + j + 1 keys.
    pairs = sum(len(p) * (len(p) + 1) // 2 for p in prefixes)
    for i, p in prefix_of.items():
        n = len(enc[i].input_ids) - p
        pairs += n * p + n * (n + 1) // 2
    cfg = model.module.config
    head = model.module.get_output_embeddings().weight.numel()
    scored = sum(len(e.targets) for e in enc)
    expected = (
        2.0 * (model.num_parameters - head) * cost.forward_tokens
        + 2.0 * head * scored
        + 4.0 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim * pairs
    )
    assert cost.flops == pytest.approx(expected)


def test_hidden_states_are_pooled_identically_with_and_without_sharing(
    tiny_llama_dir: Path,
) -> None:
    model = load_model(str(tiny_llama_dir))
    reqs = synthetic_requests()
    a = ScoringEngine(model, ScoreConfig(hidden_layers=(1, -1), min_prefix_tokens=4)).score(reqs)
    b = ScoringEngine(model, ScoreConfig(hidden_layers=(1, -1), prefix_sharing=False)).score(reqs)
    with torch.inference_mode():
        enc = encode_requests(model, reqs)
        for e, sa, sb in zip(enc, a, b, strict=True):
            assert set(sa.hidden) == {"L1_last", "L1_mean", "L2_last", "L2_mean"}
            for k in sa.hidden:
                np.testing.assert_allclose(sa.hidden[k], sb.hidden[k], atol=1e-4)
            states = model.module(torch.tensor([list(e.input_ids)]), output_hidden_states=True)
            last = states.hidden_states[2][0, e.score_start].numpy()
            np.testing.assert_allclose(sa.hidden["L2_last"], last, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("alias", ["smollm2-135m", "gemma3-270m"])
def test_real_models_match_plain_forward_on_gsm8k(alias: str) -> None:
    """Real checkpoints (GGUF, dequantised): BOS handling, Gemma's sliding windows over a
    ~900-token few-shot prefix, tied output embeddings, 262k vocabulary."""
    model = load_model(alias)
    requests = list(get_task("gsm8k:gold", limit=3).requests)
    check_against_reference(
        model,
        requests,
        [ScoreConfig(batch_size=3), ScoreConfig(batch_size=1, prefix_sharing=False)],
        tol=1e-3,  # ~150-token continuations, fp32 body: see DESIGN.md
        token_tol=1e-4,  # float32 sums over 49k-262k logits against a float64 reference
    )


def test_lm_eval_contract_loglikelihood_and_rolling(tiny_llama_dir: Path) -> None:
    from lmforecast.integrations.lm_eval import LMForecastLM

    model = load_model(str(tiny_llama_dir))
    lm = LMForecastLM(model, ScoreConfig(min_prefix_tokens=4))
    reqs = synthetic_requests()
    ll = lm.loglikelihood([(r.context, r.continuation) for r in reqs])
    for (total, *_rest), (score, _greedy) in zip(reference(model, reqs), ll, strict=True):
        assert abs(score - total) < 1e-4
    # Rolling log-likelihood of a text = log-likelihood of it after the prefix token, when it
    # fits in one window; split into windows, it can only gain context, never lose tokens.
    text = "The quick brown fox jumps over the lazy dog."
    (whole,) = lm.loglikelihood_rolling([(text,)])
    ids = [model.prefix_token_id, *model.encode_plain(text)]
    with torch.inference_mode():
        logp = torch.log_softmax(model.module(torch.tensor([ids[:-1]])).logits[0].double(), -1)
    expected = logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum().item()
    assert abs(whole - expected) < 1e-4
