"""Score RuDE pairs through the engine: ``likelihood`` and ``judge`` modes, both orders.

``likelihood``: each pair is two requests under the pair's prompt (the query), the positive
and the negative as continuations; the model prefers the response with the higher
length-normalised log-likelihood (mean log-probability per token). The shared query is a
shared prefix: the engine runs it once for both.

``judge``: a fixed 2-shot prompt (one demonstration answering A, one B: no position prior is
taught), then the query, responses A and B, and the question; the log-probabilities of the
answer tokens " A" and " B" give the preference. Every pair is asked in both orders (positive
as A, then as B): *strict* accuracy counts a pair only when both orders prefer the positive,
and the *preference probability* is the mean over the two orders of p(positive) normalised
over {A, B}, so a model that always answers "A" scores 0 strict and 0.5 preference. The judge
prompt's demonstrations are one prefix shared by every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lmforecast.core.records import Doc, Request, Task
from lmforecast.signals.rude.pairs import Pair

Mode = Literal["likelihood", "judge"]
MODES: tuple[Mode, ...] = ("likelihood", "judge")
FloatArray = npt.NDArray[np.float64]

JUDGE_INSTRUCTION = (
    "Two responses answer the same query. Pick the response that better meets the rubric: "
    "correct, complete, well-formatted and on task. Reply with A or B.\n\n"
)
_DEMOS = (
    (
        "Q: Tom has 3 apples and buys 2 more. How many apples does he have?",
        " Tom has 3 + 2 = 5 apples.\nAnswer: 5",
        " Tom has 3 + 2 = 6 apples.\nAnswer: 6",
        "A",
    ),
    (
        "Q: A box holds 4 rows of 2 pens. How many pens are in the box?",
        " The box holds 4 * 2 = 9 pens.\nAnswer: 9",
        " The box holds 4 * 2 = 8 pens.\nAnswer: 8",
        "B",
    ),
)
CHOICES = (" A", " B")


def _judge_block(query: str, a: str, b: str) -> str:
    return f"Query:\n{query}\nResponse A:\n{a.strip()}\nResponse B:\n{b.strip()}\nBetter response:"


def judge_prefix() -> str:
    """The fixed instruction and its two demonstrations (answers A, then B)."""
    shots = "".join(f"{_judge_block(q, a, b)} {ans}\n\n" for q, a, b, ans in _DEMOS)
    return JUDGE_INSTRUCTION + shots


def likelihood_task(pairs: Sequence[Pair], name: str = "rude") -> Task:
    """Requests ``2k`` (positive) and ``2k + 1`` (negative) for pair ``k``."""
    docs = tuple(Doc(f"{k}:{p.doc_id}", p.prompt) for k, p in enumerate(pairs))
    requests = tuple(
        Request(2 * k + j, docs[k].doc_id, p.prompt, text)
        for k, p in enumerate(pairs)
        for j, text in enumerate((p.positive, p.negative))
    )
    return Task(name=f"{name}:likelihood", kind="text", description="RuDE pairs", docs=docs,
                requests=requests)  # fmt: skip


def judge_task(pairs: Sequence[Pair], name: str = "rude") -> Task:
    """Requests ``4k + 2o + c`` for pair ``k``, order ``o`` (0: positive is A) and choice ``c``
    (0: " A", 1: " B")."""
    prefix = judge_prefix()
    docs = tuple(Doc(f"{k}:{p.doc_id}", p.prompt) for k, p in enumerate(pairs))
    requests: list[Request] = []
    for k, p in enumerate(pairs):
        for a, b in ((p.positive, p.negative), (p.negative, p.positive)):
            context = prefix + _judge_block(p.prompt, a, b)
            for c, choice in enumerate(CHOICES):
                requests.append(Request(len(requests), docs[k].doc_id, context, choice, c))
    return Task(name=f"{name}:judge", kind="rc", description="RuDE pairs, judged", docs=docs,
                requests=tuple(requests))  # fmt: skip


@dataclass(frozen=True)
class PairOutcomes:
    """Per pair: whether the model prefers the positive, and how strongly.

    ``correct``: likelihood mode, the positive's normalised log-likelihood is higher; judge
    mode, both orders prefer the positive (strict). ``preference``: likelihood mode, the
    logistic of the normalised margin; judge mode, p(positive) averaged over the two orders.
    ``margin``: likelihood mode, positive minus negative normalised log-likelihood (nats per
    token); judge mode, the averaged preference minus one half.
    """

    mode: Mode
    correct: npt.NDArray[np.bool_]
    preference: FloatArray
    margin: FloatArray


def _normalised(table: pa.Table) -> FloatArray:
    logprob = np.asarray(table.column("logprob").to_pylist(), dtype=np.float64)
    tokens = np.asarray([len(t) for t in table.column("tok_logprob").to_pylist()], dtype=float)
    return logprob / np.maximum(tokens, 1.0)


def likelihood_outcomes(table: pa.Table) -> PairOutcomes:
    """Outcomes from a scored :func:`likelihood_task` (rows in request order)."""
    norm = _normalised(table)
    pos, neg = norm[0::2], norm[1::2]
    margin = pos - neg
    return PairOutcomes("likelihood", margin > 0, 1.0 / (1.0 + np.exp(-margin)), margin)


def judge_outcomes(table: pa.Table) -> PairOutcomes:
    """Outcomes from a scored :func:`judge_task` (rows in request order)."""
    logprob = np.asarray(table.column("logprob").to_pylist(), dtype=np.float64).reshape(-1, 2, 2)
    # p(" A") normalised over {" A", " B"}, per pair and order
    p_a = 1.0 / (1.0 + np.exp(logprob[:, :, 1] - logprob[:, :, 0]))
    p_pos = np.stack([p_a[:, 0], 1.0 - p_a[:, 1]], axis=1)  # order 0: positive is A
    strict = np.asarray((p_pos > 0.5).all(axis=1), dtype=bool)
    pref = p_pos.mean(axis=1)
    return PairOutcomes("judge", strict, pref, pref - 0.5)


def task_for(mode: Mode, pairs: Sequence[Pair], name: str = "rude") -> Task:
    return likelihood_task(pairs, name) if mode == "likelihood" else judge_task(pairs, name)


def outcomes_for(mode: Mode, table: pa.Table) -> PairOutcomes:
    return likelihood_outcomes(table) if mode == "likelihood" else judge_outcomes(table)
