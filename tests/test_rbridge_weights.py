"""rBridge weights and scores: hand-computed examples, then two real, very different tokenizers.

The hand example: a frontier splits "The café → 4" as  Th | e caf | é | ␣→ | ␣4  with
probabilities .5, .8, .2, 1, .4, so the characters carry

    T   h   e   ␣   c   a   f   é   ␣   →   ␣   4
    .5  .5  .8  .8  .8  .8  .8  .2  1   1   .4  .4

A word-level proxy splits it  The | ␣café | ␣→ | ␣4  ("The" spans two frontier tokens):
weights (.5+.5+.8)/3 = .6, (4 x .8 + .2)/5 = .68, 1, .4.  A byte-level proxy splits "é" and "→"
into byte pieces whose offsets span the whole character: each piece gets that character's
probability.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmforecast.core.records import Request
from lmforecast.engine.encode import encode_requests, span_means
from lmforecast.models.base import LoadedModel
from lmforecast.signals.rbridge.weights import (
    char_probabilities,
    minmax,
    normalise,
    plain_nll,
    plain_nll_scores,
    proxy_token_weights,
    rbridge_scores,
    weighted_nll,
)

TEXT = "The café → 4"
FRONTIER = [("Th", math.log(0.5)), ("e caf", math.log(0.8)), ("é", math.log(0.2)),
            (" →", 0.0), (" 4", math.log(0.4))]  # fmt: skip
CHAR_P = [0.5, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8, 0.2, 1.0, 1.0, 0.4, 0.4]
WORDS = [(0, 3), (3, 8), (8, 10), (10, 12)]
BYTES = [(0, 3), (3, 7), (7, 8), (7, 8), (8, 9), (9, 10), (9, 10), (10, 12)]


def test_characters_carry_their_frontier_tokens_probability() -> None:
    assert "".join(t for t, _ in FRONTIER) == TEXT
    assert char_probabilities(FRONTIER) == pytest.approx(CHAR_P, abs=1e-15)
    assert len(CHAR_P) == len(TEXT)  # "é" and "→" are one character each (2 and 3 bytes)


def test_two_proxy_tokenizations_of_the_same_trace() -> None:
    words = proxy_token_weights(CHAR_P, WORDS)
    assert words.tolist() == pytest.approx([0.6, 0.68, 1.0, 0.4])
    pieces = proxy_token_weights(CHAR_P, BYTES)
    # " caf" = .8; both byte pieces of "é" get .2; " " = 1; both pieces of "→" get 1; " 4" = .4
    assert pieces.tolist() == pytest.approx([0.6, 0.8, 0.2, 0.2, 1.0, 1.0, 1.0, 0.4])


def test_tokens_covering_no_trace_character_get_nan() -> None:
    # A BOS (0, 0) and a token of moved context spaces before the trace (start=2).
    got = span_means([(0, 0), (0, 2), (1, 5), (5, 6)], [0.5, 0.7, 0.9, 0.3], start=2)
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2:] == pytest.approx((0.7, 0.3))  # (1, 5) covers trace chars 0..2 only


def test_minmax_per_trace_and_the_constant_rule() -> None:
    assert minmax([0.6, 0.68, 1.0, 0.4]).tolist() == pytest.approx([1 / 3, 7 / 15, 1.0, 0.0])
    assert minmax([0.3, np.nan, 0.3]).tolist()[::2] == [1.0, 1.0]  # max == min: all ones
    assert math.isnan(minmax([0.3, np.nan, 0.3])[1])
    with pytest.raises(ValueError, match="no token carries a weight"):
        minmax([np.nan])


def test_minmax_per_task_uses_the_task_extremes() -> None:
    per_task = normalise([[0.6, 0.68, 1.0, 0.4], [0.7, np.nan]], "task")
    assert per_task[0].tolist() == pytest.approx([1 / 3, 7 / 15, 1.0, 0.0])
    assert per_task[1][0] == pytest.approx(0.5) and math.isnan(per_task[1][1])
    per_trace = normalise([[0.6, 0.68, 1.0, 0.4], [0.7, np.nan]], "trace")
    assert per_trace[1][0] == 1.0  # one weighted token: constant, so 1
    with pytest.raises(ValueError, match="'trace' or 'task'"):
        normalise([[0.5]], "doc")  # type: ignore[arg-type]


def test_trace_score_by_hand() -> None:
    nll = np.array([1.0, 2.0, 0.5, 3.0])
    w = [0.6, 0.68, 1.0, 0.4]
    # MinMax -> [1/3, 7/15, 1, 0]; mean(nll * w) = (1/3 + 14/15 + 1/2 + 0) / 4 = 53/120
    assert rbridge_scores([-nll], [w])[0] == pytest.approx(53 / 120)
    assert plain_nll_scores([-nll], [w])[0] == pytest.approx(6.5 / 4)
    # NaN-weighted tokens (a BOS) are left out of both scores
    with_bos = (np.r_[-9.0, -nll], np.r_[np.nan, w])
    assert rbridge_scores([with_bos[0]], [with_bos[1]])[0] == pytest.approx(53 / 120)
    assert plain_nll(*with_bos) == pytest.approx(6.5 / 4)
    # constant weights: every weight 1, rBridge equals plain NLL
    assert rbridge_scores([-nll], [[0.5] * 4])[0] == pytest.approx(6.5 / 4)
    assert weighted_nll(np.log([0.5, 0.25]), [1.0, 0.5]) == pytest.approx(math.log(2))


def test_task_minmax_changes_scores_by_hand() -> None:
    nll = [np.array([1.0, 1.0]), np.array([2.0])]
    raw = [[0.2, 0.6], [0.4]]
    # per trace: [0, 1] -> 0.5; [0.4] constant -> 1 -> 2.0
    assert rbridge_scores([-n for n in nll], raw, "trace").tolist() == pytest.approx([0.5, 2.0])
    # per task: min .2 max .6 -> [0, 1] -> 0.5; [.5] -> 1.0
    assert rbridge_scores([-n for n in nll], raw, "task").tolist() == pytest.approx([0.5, 1.0])
    with pytest.raises(ValueError, match="one length"):
        weighted_nll([-1.0, -2.0], [1.0])


# --- two real tokenizers ----------------------------------------------------------------------

CONTEXT = "Question: What does the café charge?\nAnswer: "
TRACE = "The café → 3 € each; 2×3 = 6 漢字 😀 done."


def _tokenizer(alias: str) -> Any:
    """Only the tokenizer: read from the dequantised copy of the alias's GGUF (made once)."""
    from transformers import AutoTokenizer

    from lmforecast.core.fingerprint import hash_file
    from lmforecast.models.gguf import dequantised_dir
    from lmforecast.models.registry import ALIASES

    path = Path(ALIASES.get(alias)())
    return AutoTokenizer.from_pretrained(dequantised_dir(path, hash_file(path)))


@pytest.fixture(scope="module")
def proxies() -> dict[str, LoadedModel]:
    import lmforecast.models  # noqa: F401  (registers the aliases)

    return {
        alias: LoadedModel(alias, None, _tokenizer(alias), "t", "tokenizer only", 1 << 20)
        for alias in ("smollm2-135m", "gemma3-270m")
    }


def _frontier() -> list[tuple[str, float]]:
    """A third tokenization: 3-character chunks with distinct probabilities."""
    chunks = [TRACE[i : i + 3] for i in range(0, len(TRACE), 3)]
    return [(c, math.log(0.05 + 0.9 * (k % 7) / 6)) for k, c in enumerate(chunks)]


@pytest.mark.slow
def test_real_tokenizers_split_differently_and_weights_follow_characters(
    proxies: dict[str, LoadedModel],
) -> None:
    char_p = char_probabilities(_frontier())
    request = Request(0, "d", CONTEXT, TRACE, char_weights=char_p)
    got = {}
    for alias, model in proxies.items():
        (enc,) = encode_requests(model, [request])
        assert enc.weights is not None and len(enc.weights) == len(enc.targets)
        tok = model.tokenizer
        out = tok(CONTEXT + TRACE, return_offsets_mapping=True)
        offsets = out["offset_mapping"][-len(enc.targets) :]
        start = len(CONTEXT)
        for (s, e), w in zip(offsets, enc.weights, strict=True):
            chars = range(max(s, start), min(e, start + len(TRACE)))
            assert w == pytest.approx(np.mean([char_p[c - start] for c in chars]))
        # lm-eval moved the context's trailing space into the continuation: the first target
        # covers that space and "The", and weighs only the trace's "The".
        assert offsets[0][0] == start - 1
        assert enc.weights[0] == pytest.approx(np.mean(char_p[:3]))
        got[alias] = (offsets, np.array(enc.weights))
    (small_off, small_w), (gemma_off, gemma_w) = got["smollm2-135m"], got["gemma3-270m"]
    assert small_off != gemma_off  # really different splits
    # Byte-level pieces of one multi-byte character all carry that character's probability.
    at = len(CONTEXT) + TRACE.index("漢")
    pieces = [w for (s, e), w in zip(small_off, small_w, strict=True) if (s, e) == (at, at + 1)]
    assert len(pieces) >= 2 and pieces == pytest.approx([char_p[TRACE.index("漢")]] * len(pieces))
    # Gemma's pieces partition the trace: nothing lost, nothing counted twice.
    start, end = len(CONTEXT), len(CONTEXT) + len(TRACE)
    covered = [min(e, end) - max(s, start) for s, e in gemma_off]
    assert sum(covered) == len(TRACE)
    assert float(np.dot(covered, gemma_w)) == pytest.approx(sum(char_p))


@pytest.mark.slow
def test_gemma_bos_before_an_empty_context_weighs_nothing(
    proxies: dict[str, LoadedModel],
) -> None:
    char_p = char_probabilities(_frontier())
    (enc,) = encode_requests(proxies["gemma3-270m"], [Request(0, "d", "", TRACE, None, char_p)])
    assert enc.targets[0] == proxies["gemma3-270m"].tokenizer.bos_token_id
    assert enc.weights is not None and math.isnan(enc.weights[0])
    assert all(math.isfinite(w) for w in enc.weights[1:])
    (plain,) = encode_requests(proxies["smollm2-135m"], [Request(0, "d", "", TRACE, None, char_p)])
    assert plain.weights is not None and all(math.isfinite(w) for w in plain.weights)
