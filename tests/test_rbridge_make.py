"""Making frontier traces: token pieces that concatenate to the text, the answer line stripped,
bad format retried once then dropped and counted, log-probabilities that are the frontier's."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lmforecast.core.records import Doc
from lmforecast.signals.rbridge.make import cut_pieces, reasoning_of, token_pieces
from lmforecast.signals.rbridge.traces import Trace

BYTES = {1: b"a", 2: b"\xc3", 3: b"\xa9", 4: b" b", 5: b"\xe2\x82", 6: b"\xac"}


def _decode(ids: list[int]) -> str:
    return b"".join(BYTES[i] for i in ids).decode("utf-8", errors="replace")


def test_byte_pieces_of_one_character_merge_with_summed_logprob() -> None:
    # "é" is two byte tokens and "€" a two-byte and a one-byte token: each becomes one piece
    # whose probability is the joint probability of its tokens.
    pieces = token_pieces(_decode, [1, 2, 3, 4, 5, 6], [-0.1, -0.2, -0.3, -0.4, -0.5, -0.6])
    assert [p for p, _ in pieces] == ["a", "é", " b", "€"]
    assert [round(lp, 10) for _, lp in pieces] == [-0.1, -0.5, -0.4, -1.1]
    assert "".join(p for p, _ in pieces) == _decode([1, 2, 3, 4, 5, 6])


def test_a_trailing_incomplete_character_stays_a_replacement_piece() -> None:
    pieces = token_pieces(_decode, [1, 2], [-0.1, -0.2])
    assert "".join(p for p, _ in pieces) == _decode([1, 2]) == "a\ufffd"


def test_text_that_changes_in_context_is_re_merged() -> None:
    # A decoder that drops a trailing space until the next token arrives (as cleanup does):
    # the second prefix rewrites the first piece, which is merged into the second.
    words = {1: "x ", 2: "y"}

    def decode(ids: list[int]) -> str:
        text = "".join(words[i] for i in ids)
        return text.rstrip() if ids[-1] == 1 else text

    pieces = token_pieces(decode, [1, 2], [-1.0, -2.0])
    assert "".join(p for p, _ in pieces) == "x y"
    assert math.isclose(sum(lp for _, lp in pieces), -3.0)


def test_cut_keeps_the_straddling_token_whole_probability() -> None:
    assert cut_pieces([("ab", -1.0), ("c\nd", -2.0), ("e", -3.0)], 3) == [
        ("ab", -1.0),
        ("c", -2.0),
    ]
    assert cut_pieces([("ab", -1.0)], 5) == [("ab", -1.0)]


@pytest.mark.parametrize(
    ("grader", "completion", "expected"),
    [
        ("testbed", " 3 + 4 = 7. 7 - 2 = 5.\nAnswer: 5", " 3 + 4 = 7. 7 - 2 = 5."),
        ("testbed", " 3 + 4 = 7.", None),  # no answer line: bad format
        ("testbed", "\nAnswer: 5", None),  # nothing before it
        ("gsm8k", "She has 3 + 4 = 7 apples.\n#### 7", "She has 3 + 4 = 7 apples."),
        (None, "step one\nstep two\n42", "step one\nstep two"),
        (None, "just 42", None),
    ],
)
def test_reasoning_strips_the_final_answer_line(
    grader: str | None, completion: str, expected: str | None
) -> None:
    assert reasoning_of(Doc("d", "Q"), completion, grader, None) == expected


def test_an_answer_the_grader_cannot_read_is_bad_format() -> None:
    assert reasoning_of(Doc("d", "Q"), "x.\nAnswer: 5", "testbed", lambda d, c: None) is None


def test_testbed_frontier_traces_align_and_carry_its_logprobs(
    ci_build: tuple[Path, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmforecast import api, testbed
    from lmforecast.signals.rbridge.library import list_traces

    home, _ = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    model_id, path = testbed.frontier_model("ci")
    assert model_id.startswith("frontier-") and model_id.endswith("-sft")
    made, traces = api.make_traces("testbed-frontier:ci", "testbed-arith:gold", limit=12)
    assert made.traces + made.dropped == 12 and made.traces == len(traces) >= 8
    for t in traces:
        assert isinstance(t, Trace) and "Answer:" not in t.text
    # Read back, not made again; and `auto` now finds them.
    again, same = api.make_traces("testbed-frontier:ci", "testbed-arith:gold", limit=12)
    assert again.key == made.key and same == traces
    assert api.resolve_traces("auto", "testbed-arith:gold") == traces
    assert [t.key for t, auto in list_traces() if auto and t.task == made.task] == [made.key]
    # Retries are sampled: traces of another random-number scheme are another set, made anew.
    from lmforecast.signals.rbridge import library

    with monkeypatch.context() as patch:
        patch.setattr(library, "RNG_VERSION", "another-rng")
        other, _ = api.make_traces("testbed-frontier:ci", "testbed-arith:gold", limit=12)
    assert other.key != made.key
    api.make_traces("testbed-frontier:ci", "testbed-arith:gold", limit=12)  # auto: made's again

    # The recorded log-probabilities are the frontier's own: a float64 forward pass over the
    # prompt and the trace's tokens gives the same numbers for the first trace.
    lm = api.load(path)
    doc = api.task("testbed-arith:gold", 12).docs[0]
    trace = next(t for t in traces if t.doc_id == doc.doc_id)
    ids = lm.encode(doc.prompt)
    pieces = [lm.encode_plain(p) for p, _ in trace.tokens]
    if all(len(p) == 1 for p in pieces):  # one frontier token per piece (no merges or cuts)
        seq = torch.tensor([ids + [p[0] for p in pieces]])
        module = lm.module.to(torch.float64)
        with torch.no_grad():
            logits = module(input_ids=seq).logits[0].log_softmax(-1)
        module.to(torch.float32)
        for k, ((_, lp), p) in enumerate(zip(trace.tokens, pieces, strict=True)):
            assert abs(float(logits[len(ids) + k - 1, p[0]]) - lp) < 1e-4
