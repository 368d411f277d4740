"""Weights ride with the requests through the engine's one pass, into the store and the signals.

Tiny real checkpoints (a byte-level BPE without BOS, a Gemma 3 that adds ``<bos>``), scored
through ``score_task`` with a store: the ``tok_weight`` column, the store key (changed by
weights, unchanged without them), resumption, and the rBridge signals through the contract.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc, Request, Task
from lmforecast.engine import ScoreConfig, encode_requests
from lmforecast.models import load_model
from lmforecast.signals.base import TaskScores, all_signals, get_signal
from lmforecast.signals.rbridge import Trace
from lmforecast.signals.rbridge.score import score_traces, trace_task
from lmforecast.signals.rbridge.traces import TraceError
from lmforecast.signals.rbridge.weights import plain_nll_scores, rbridge_scores
from lmforecast.signals.scored import requests_fingerprint, score_task, scores_key
from lmforecast.store import Store


def _toy_task() -> Task:
    docs = (Doc("a", "Q: 2+2?\nA:", solution=" 4", answer="4"),
            Doc("b", "Q: café?\nA: ", solution="→ yes"))  # fmt: skip
    reqs = (Request(0, "a", docs[0].prompt, " 4"), Request(1, "b", docs[1].prompt, "→ yes", 1))
    return Task("toy", "gold", "toy", docs, reqs)


def test_the_key_of_a_weightless_task_is_unchanged() -> None:
    """Values computed before weights existed: weights never enter a weight-less key. The
    scores key changes only when ENGINE_VERSION does (2: packed prefix groups changed the
    shard boundaries; under version 1 this key was f680f33275cf4e37)."""
    task = _toy_task()
    assert requests_fingerprint(task) == "6bbd39b4b7feb077"
    assert scores_key(SimpleNamespace(fingerprint="f00d"), task, ScoreConfig()) == (  # type: ignore[arg-type]
        "8cccea0859c7b878"
    )


def test_weights_enter_the_key() -> None:
    task = _toy_task()
    weighted = [Request(0, "a", "Q:", " 4", char_weights=(0.5, 0.5))]
    other = [Request(0, "a", "Q:", " 4", char_weights=(0.5, 0.25))]
    plain = [Request(0, "a", "Q:", " 4")]
    keys = {
        requests_fingerprint(Task("t", "gold", "", task.docs, tuple(r)))
        for r in (weighted, other, plain)
    }
    assert len(keys) == 3


DOCS = (
    Doc("p1", "Question: What is 2 + 3?\nAnswer:"),
    Doc("p2", "Question: How many cars are there?\nAnswer: "),  # trailing space moves
    Doc("p3", "Question: Name a fox.\nAnswer:"),
    Doc("p4", "Question: no trace for this one\nAnswer:"),
)
TEXTS = {
    "p1": " 2 + 3 = 5. So the answer is 5.",
    "p2": "3 + 2 = 5 cars → 5.",
    "p3": " The quick brown fox é.",
}


def _traces() -> list[Trace]:
    out = []
    for k, (doc_id, text) in enumerate(TEXTS.items()):
        pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
        out.append(
            Trace(doc_id, text, tuple((p, -0.1 * ((j + k) % 5)) for j, p in enumerate(pieces)))
        )
    return out


def _task() -> Task:
    reqs = tuple(Request(i, d.doc_id, d.prompt, " x") for i, d in enumerate(DOCS))
    return Task("prompts", "gold", "four prompts", DOCS, reqs)


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_weights_ride_through_the_engine_into_the_store(
    which: str, tiny_llama_dir: Path, tiny_gemma_dir: Path, tmp_path: Path, lmf_home: Path
) -> None:
    model = load_model(str(tiny_llama_dir if which == "llama" else tiny_gemma_dir))
    built = trace_task(_task(), _traces())
    assert built.skipped_docs == 1 and [r.doc_id for r in built.task.requests] == ["p1", "p2", "p3"]
    store = Store(tmp_path / "store")
    config = ScoreConfig(batch_size=2, unit_size=2)
    first = score_task(model, built.task, config, store)
    again = score_task(model, built.task, config, store)
    assert first.computed_units == first.total_units == 2 and again.computed_units == 0
    assert again.table.equals(first.table)
    encoded = encode_requests(model, built.task.requests)
    stored = first.table.column("tok_weight").to_pylist()
    for enc, weights, n in zip(encoded, stored, first.table.column("num_tokens").to_pylist(),
                               strict=True):  # fmt: skip
        assert enc.weights is not None and len(weights) == n == len(enc.targets)
        np.testing.assert_array_equal(np.array(weights), np.array(enc.weights))
    # p2's first target starts with the context's moved space: it still weighs only trace text
    assert all(math.isfinite(w) for row in stored for w in row)
    # Weights change the key, not the numbers: the same requests without them score the same.
    bare = Task("bare", "text", "", built.task.docs,
                tuple(Request(r.index, r.doc_id, r.context, r.continuation)
                      for r in built.task.requests))  # fmt: skip
    unweighted = score_task(model, bare, config, store)
    assert unweighted.key != first.key and "tok_weight" not in unweighted.table.column_names
    assert unweighted.table.column("tok_logprob").equals(first.table.column("tok_logprob"))


def test_signals_through_the_contract_and_the_bootstrap(
    tiny_llama_dir: Path, tmp_path: Path, lmf_home: Path
) -> None:
    model = load_model(str(tiny_llama_dir))
    run = score_traces(model, _task(), _traces(), store=Store(tmp_path / "s"), resamples=200)
    assert run.num_traces == 3 and run.skipped_docs == 1
    lp = [np.array(x) for x in run.scored.table.column("tok_logprob").to_pylist()]
    w = [np.array(x) for x in run.scored.table.column("tok_weight").to_pylist()]
    expect = {
        "rbridge": rbridge_scores(lp, w, "trace"),
        "rbridge@task": rbridge_scores(lp, w, "task"),
        "rbridge_plain_nll": plain_nll_scores(lp, w),
    }
    for name, values in expect.items():
        np.testing.assert_allclose(run.table.column(name).to_numpy(), values)
        m = run.metrics[name]
        assert m.value == pytest.approx(values.mean()) and m.n == 3
        assert m.ci_low <= m.value <= m.ci_high
    assert run.metrics["rbridge"].value < run.metrics["rbridge_plain_nll"].value  # w <= 1
    assert "cross_entropy" in run.table.column_names  # request metrics ride along
    # Patel's experiment computes only signals needing token statistics alone.
    from lmforecast.experiments.patel.scoring import token_signals

    rbridge = {s.name for s in all_signals("rbridge")}
    assert rbridge == set(expect)
    assert all(s.needs.token_weights and not s.higher_is_better for s in all_signals("rbridge"))
    assert not rbridge & {s.name for s in token_signals()}


def test_unweighted_scores_are_refused_by_the_rbridge_signals(
    tiny_llama_dir: Path, tmp_path: Path, lmf_home: Path
) -> None:
    model = load_model(str(tiny_llama_dir))
    result = score_task(model, _task(), ScoreConfig(), Store(tmp_path / "s"))
    with pytest.raises(UserError, match="need per-token weights"):
        get_signal("rbridge").request_values(TaskScores(result.table, model.vocab_size))


def test_trace_matching_errors() -> None:
    stray = Trace("nope", "x", (("x", -1.0),))
    with pytest.raises(TraceError, match=r"1 trace\(s\) name doc_ids that task prompts does not "
                                         r"have: 'nope'"):  # fmt: skip
        trace_task(_task(), [*_traces(), stray])
    limited = _task().limited(1)  # the other docs' traces are left aside, not unknown
    built = trace_task(limited, _traces(), {d.doc_id for d in DOCS})
    assert [r.doc_id for r in built.task.requests] == ["p1"] and built.skipped_docs == 0
    spaced = trace_task(_task(), _traces(), separator=" ").task.requests[0]
    assert spaced.context == DOCS[0].prompt + " " and spaced.continuation == TEXTS["p1"]
    assert spaced.char_weights is not None and len(spaced.char_weights) == len(TEXTS["p1"])
    with pytest.raises(TraceError, match="no doc of task prompts"):
        trace_task(_task().limited(1), _traces()[1:], {d.doc_id for d in DOCS})


def test_bad_character_weights_are_request_errors(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    from lmforecast.core.errors import RequestError

    with pytest.raises(RequestError, match="2 character weights for a continuation of 3"):
        encode_requests(model, [Request(0, "a", "Q:", " ab", char_weights=(1.0, 1.0))])
    with pytest.raises(RequestError, match="finite"):
        encode_requests(model, [Request(0, "a", "Q:", " a", char_weights=(1.0, math.nan))])
