"""RuDE scoring: the both-orders bookkeeping of judge mode on hand-made log-probabilities and
through the engine, length-normalised likelihood, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from test_cli import run_cli, user_error

from lmforecast.signals.rude.pairs import Pair
from lmforecast.signals.rude.run import score_pairs
from lmforecast.signals.rude.score import (
    judge_outcomes,
    judge_prefix,
    judge_task,
    likelihood_outcomes,
    likelihood_task,
)

PAIRS = [
    Pair("1", "Q: 2 + 2?\nA:", " 2 + 2 = 4.\nAnswer: 4", " 2 + 2 = 5.\nAnswer: 5", ("final",), 1,
         ((7, 9, 7, 9),)),
    Pair("2", "Q: 3 + 1?\nA:", " 3 + 1 = 4.\nAnswer: 4", " 3 + 1 = 4.\nResult: 4", ("line",), 1,
         ((12, 19, 12, 19),)),
    Pair("2", "Q: 3 + 1?\nA:", " 3 + 1 = 4.\nAnswer: 4", " 3 + 1 = 2.\nAnswer: 2", ("final",), 1,
         ((7, 9, 7, 9),)),
]  # fmt: skip


def _judge_table(p_a: list[tuple[float, float]]) -> pa.Table:
    """Stored rows of a judge task from p(" A") per (pair, order): four rows per pair."""
    logprob = []
    for first, second in p_a:
        for p in (first, second):
            logprob += [float(np.log(p)), float(np.log(1 - p))]
    return pa.table({"logprob": logprob})


def test_a_judge_that_always_answers_a_scores_zero_strict_and_half_preference() -> None:
    out = judge_outcomes(_judge_table([(0.9, 0.9), (0.7, 0.7)]))
    assert out.correct.tolist() == [False, False]
    assert np.allclose(out.preference, 0.5)  # 0.9 for the positive as A, 0.1 as B


def test_strict_needs_both_orders() -> None:
    # pair 1: right in both orders; pair 2: right only when the positive is A
    out = judge_outcomes(_judge_table([(0.8, 0.3), (0.8, 0.6)]))
    assert out.correct.tolist() == [True, False]
    assert np.allclose(out.preference, [(0.8 + 0.7) / 2, (0.8 + 0.4) / 2])


def test_likelihood_is_length_normalised() -> None:
    # positive: 4 tokens, -4 nats (-1/token); negative: 2 tokens, -3 nats (-1.5/token)
    table = pa.table({"logprob": [-4.0, -3.0], "tok_logprob": [[-1.0] * 4, [-1.5, -1.5]]})
    out = likelihood_outcomes(table)
    assert out.correct.tolist() == [True] and np.isclose(out.margin[0], 0.5)


def test_task_layouts() -> None:
    lik = likelihood_task(PAIRS)
    assert [r.continuation for r in lik.requests[:2]] == [PAIRS[0].positive, PAIRS[0].negative]
    judge = judge_task(PAIRS)
    assert len(judge.requests) == 4 * len(PAIRS)
    assert all(r.context.startswith(judge_prefix()) for r in judge.requests)
    first = judge.requests[:4]
    assert [r.continuation for r in first] == [" A", " B", " A", " B"]
    assert "Response A:\n2 + 2 = 4." in first[0].context  # order 0: the positive is A
    assert "Response A:\n2 + 2 = 5." in first[2].context  # order 1: the positive is B
    assert judge_prefix().count("Better response:") == 2  # two demonstrations
    assert judge_prefix().rstrip().endswith("B")  # the second answers B


def test_swapping_positive_and_negative_mirrors_both_modes(
    tiny_llama_dir: Path, lmf_home: Path
) -> None:
    from lmforecast.models import load_model

    model = load_model(str(tiny_llama_dir))
    swapped = [Pair(p.doc_id, p.prompt, p.negative, p.positive, p.violated, 1, ()) for p in PAIRS]
    lik, lik_s = (score_pairs(model, ps, "likelihood") for ps in (PAIRS, swapped))
    assert np.allclose(lik.outcomes.margin, -lik_s.outcomes.margin, atol=1e-6)
    judge, judge_s = (score_pairs(model, ps, "judge") for ps in (PAIRS, swapped))
    assert np.allclose(judge.outcomes.preference, 1 - judge_s.outcomes.preference, atol=1e-6)
    assert judge.breakdown.set_index("group").loc["all", "pairs"] == 3


def test_rude_commands(
    tiny_llama_dir: Path, tmp_path: Path, lmf_home: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "pairs.jsonl"
    args = ["rude", "pairs", "--rubric", "testbed-arith", "--output", str(out)]
    assert run_cli([*args, "--n", "6", "--difficulty", "2", "--limit", "20"], monkeypatch) == 0
    assert "6 pairs of difficulty 2" in capsys.readouterr().out
    assert run_cli(["rude", "show", "--pairs", str(out), "--n", "1"], monkeypatch) == 0
    shown = capsys.readouterr().out
    assert "pair 1" in shown and "violates" in shown
    score = ["score", "--model", str(tiny_llama_dir), "--signals", "rude", "--pairs", str(out)]
    assert run_cli([*score, "--rubric", "testbed-arith"], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "6 pairs · RuDE likelihood accuracy" in printed and "difficulty=2" in printed
    assert run_cli([*score, "--mode", "judge", "--truncate", "left"], monkeypatch) == 0
    assert "strict accuracy (both orders)" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    del rows[1]["negative"]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    message = user_error([*score[:-1], str(bad)], monkeypatch, capsys)
    assert f"{bad}:2: pair has no field 'negative'" in message
    message = user_error(score[:5], monkeypatch, capsys)
    assert "--signals rude and --pairs FILE go together" in message
