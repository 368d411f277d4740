"""Make reasoning traces with a frontier model: greedy reasoning, per-token log-probabilities,
the final-answer formatting stripped.

rBridge (Koh et al.) asks the frontier for JSON with a ``reasoning`` field and keeps that field
with the API's per-token log-probabilities. A local frontier is asked the task's own prompt
instead; its completion must hold a final answer the task's grader reads (else it is in bad
format: one retry, sampled, then the problem is dropped and counted), and the trace is the
completion *before* the final-answer line. Traces are not filtered for correctness (the paper
found filtering changed little).

The frontier's tokens become ``[token_text, logprob]`` pairs whose texts concatenate to the
trace exactly: a byte-level token that is only part of a character is merged with the pieces
that complete it (their log-probabilities summed: the joint probability), and a token cut by the
end of the reasoning keeps the characters before the cut with its whole log-probability (each
character carries the probability of the frontier token that contains it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lmforecast.core.records import Doc, Task
from lmforecast.engine.generate import Generation, GenerationConfig, generate
from lmforecast.models.base import LoadedModel
from lmforecast.signals.rbridge.traces import Trace, first_difference

AnswerReader = Callable[[Doc, str], "str | None"]
"""The final answer a completion gives (the task's grader reads it), or ``None``: passed in from
above, since signals do not import truth."""

# Where the final-answer formatting starts, per grader: the reasoning is what comes before.
# A grader not listed here: the last line holds the answer (when there are several lines).
ANSWER_MARKERS: dict[str, re.Pattern[str]] = {
    "testbed": re.compile(r"\n?[ \t]*Answer:"),
    "gsm8k": re.compile(r"\n?[ \t]*(####|The answer is)"),
    "math": re.compile(r"\n?[ \t]*(Final Answer:|The final answer is)"),
}
RETRY_TEMPERATURE = 0.8


@dataclass(frozen=True)
class TraceBatch:
    """Traces made for a task: the traces, the problems dropped after a retry, and the cost."""

    task: str
    frontier: str
    traces: tuple[Trace, ...]
    dropped: tuple[str, ...]  # doc_ids whose completion stayed in bad format after one retry
    retried: int
    generated_tokens: int
    seconds: float


def token_pieces(
    decode: Callable[[list[int]], str], ids: Sequence[int], logprobs: Sequence[float]
) -> list[tuple[str, float]]:
    """``[text, logprob]`` per frontier token, the texts concatenating to ``decode(ids)``.

    Decoding a prefix of the ids can end in a replacement character (a multi-byte character
    not yet complete) or differ from the same prefix decoded in context (tokenizers that clean
    up spaces): such tokens are merged with the next ones, summing their log-probabilities,
    until the decoded prefix is stable.

    >>> chars = {1: "a", 2: "b"}
    >>> token_pieces(lambda ids: "".join(chars[i] for i in ids), [1, 2], [-0.5, -1.0])
    [('a', -0.5), ('b', -1.0)]
    """
    pieces: list[tuple[str, float]] = []
    emitted = ""
    pending = 0.0
    for k, logprob in enumerate(logprobs):
        pending += logprob
        text = decode(list(ids[: k + 1]))
        if text.endswith("\ufffd") and k + 1 < len(ids):
            continue  # part of a character: its probability joins the pieces that complete it
        keep = first_difference(emitted, text)
        while len(emitted) > keep:  # decoding in context changed earlier text: re-merge
            piece, lp = pieces.pop()
            emitted = emitted[: len(emitted) - len(piece)]
            pending += lp
        pieces.append((text[len(emitted) :], pending))
        emitted, pending = text, 0.0
    return pieces


def cut_pieces(pieces: Sequence[tuple[str, float]], n_chars: int) -> list[tuple[str, float]]:
    """The pieces covering the first ``n_chars`` characters; a piece cut by the end keeps its
    characters before the cut and its whole log-probability.

    >>> cut_pieces([("ab", -1.0), ("cd", -2.0)], 3)
    [('ab', -1.0), ('c', -2.0)]
    """
    out: list[tuple[str, float]] = []
    have = 0
    for text, logprob in pieces:
        if have >= n_chars:
            break
        take = text[: n_chars - have]
        out.append((take, logprob))
        have += len(take)
    return out


def reasoning_of(
    doc: Doc, completion: str, grader: str | None, answer_of: AnswerReader | None
) -> str | None:
    """The reasoning part of a completion, or ``None`` when it is in bad format: the task's
    grader reads no final answer from it, or nothing precedes the final-answer line.

    >>> reasoning_of(Doc("1", "Q"), " 3 + 4 = 7.\\nAnswer: 7", "testbed", None)
    ' 3 + 4 = 7.'
    >>> reasoning_of(Doc("1", "Q"), "Answer: 7", "testbed", None) is None
    True
    """
    if answer_of is not None and answer_of(doc, completion) is None:
        return None
    marker = ANSWER_MARKERS.get(grader or "")
    if marker is not None:
        found = marker.search(completion)
        reasoning = completion[: found.start()] if found else None
    else:
        reasoning = completion.rsplit("\n", 1)[0] if "\n" in completion.strip() else None
    if reasoning is None or not reasoning.strip():
        return None
    return reasoning.rstrip()


def trace_of(
    model: LoadedModel,
    doc: Doc,
    gen: Generation,
    grader: str | None,
    answer_of: AnswerReader | None = None,
) -> Trace | None:
    """The trace of one generation, or ``None`` when it is in bad format."""
    reasoning = reasoning_of(doc, gen.text, grader, answer_of)
    if reasoning is None:
        return None
    eos = set(model.eos_token_ids)
    kept = [
        (t, lp) for t, lp in zip(gen.token_ids, gen.token_logprobs, strict=True) if t not in eos
    ]
    ids, logprobs = [t for t, _ in kept], [lp for _, lp in kept]
    pieces = cut_pieces(token_pieces(model.decode, ids, logprobs), len(reasoning))
    return Trace(doc.doc_id, reasoning, tuple((t, min(lp, 0.0)) for t, lp in pieces))


def make_traces(
    model: LoadedModel,
    task: Task,
    *,
    batch_size: int = 16,
    seed: int = 0,
    max_tokens: int | None = None,
    answer_of: AnswerReader | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TraceBatch:
    """The frontier ``model``'s greedy trace for every doc of ``task`` (one sampled retry for a
    completion in bad format, then the doc is dropped and counted). ``answer_of`` reads a
    completion's final answer (the task's grader, passed in by the caller): a completion from
    which it reads none is in bad format."""
    if task.generation is None:
        raise ValueError(f"task {task.name} has no generation spec: it cannot prompt a frontier")
    spec = task.generation
    start = time.perf_counter()
    base = GenerationConfig(
        stop=spec.stop,
        max_tokens=max_tokens or spec.max_tokens,
        batch_size=batch_size,
        logprobs=True,
        seed=seed,
    )
    docs = list(task.docs)
    gens = [g[0] for g in generate(model, [d.prompt for d in docs], base, progress)]
    tokens = sum(g.num_tokens for g in gens)
    traces: dict[int, Trace] = {}
    retry: list[int] = []
    for i, (doc, gen) in enumerate(zip(docs, gens, strict=True)):
        trace = trace_of(model, doc, gen, task.grader, answer_of)
        if trace is None:
            retry.append(i)
        else:
            traces[i] = trace
    dropped: list[str] = []
    if retry:
        sampled = base.model_copy(update={"temperature": RETRY_TEMPERATURE})
        again = generate(model, [docs[i].prompt for i in retry], sampled, prompt_indices=retry)
        for i, gens_i in zip(retry, again, strict=True):
            tokens += gens_i[0].num_tokens
            trace = trace_of(model, docs[i], gens_i[0], task.grader, answer_of)
            if trace is None:
                dropped.append(docs[i].doc_id)
            else:
                traces[i] = trace
    return TraceBatch(
        task=task.name,
        frontier=model.name,
        traces=tuple(traces[i] for i in sorted(traces)),
        dropped=tuple(dropped),
        retried=len(retry),
        generated_tokens=tokens,
        seconds=time.perf_counter() - start,
    )
