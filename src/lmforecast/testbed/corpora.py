"""Pretraining corpus recipes and the token streams built from them.

A recipe varies what matters for downstream reasoning, one knob at a time from a ``clean`` base:
the share of reasoning traces vs generic text, the quality of the traces (a share of steps
corrupted), their format (evaluation format, another surface format, answers without steps) and
the domain mix. Several recipes are meant to make generic-text cross-entropy and accuracy
disagree: ``generic80``/``generic95`` buy low generic CE with reasoning data, ``pure`` has no
generic text at all (its generic CE *rises* during training), and ``noisy60``/``alt-format``
model solutions fluently yet answer badly or in the wrong format.

A corpus is a sequence of documents separated by ``<|endoftext|>`` and packed into fixed-length
rows; the document order is drawn from the population seed, and every size of a family trains on
the same rows in the same order (as in DataDecide).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmforecast.testbed import generic, problems

PROBLEM_END = "\n\n"  # ends every problem document; the tasks' stop sequence


@dataclass(frozen=True)
class Recipe:
    """A pretraining mixture. Shares are of tokens; weights need not sum to one."""

    name: str
    description: str
    generic: float = 0.1  # share of tokens from generic text
    domains: tuple[tuple[str, float], ...] = (("arith", 1.0), ("list", 1.0), ("trace", 1.0))
    formats: tuple[tuple[str, float], ...] = (("gold", 1.0),)
    corrupt: float = 0.0  # share of solution steps with a wrong result


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("clean", "clean traces in the evaluation format, 10% generic text"),
        Recipe("pure", "clean traces only, no generic text", generic=0.0),
        Recipe("generic50", "half clean traces, half generic text", generic=0.5),
        Recipe("generic80", "20% clean traces, 80% generic text", generic=0.8),
        Recipe("generic95", "5% clean traces, 95% generic text", generic=0.95),
        Recipe("noisy15", "15% of solution steps wrong", corrupt=0.15),
        Recipe("noisy30", "30% of solution steps wrong", corrupt=0.3),
        Recipe("noisy60", "60% of solution steps wrong", corrupt=0.6),
        Recipe("answer-only", "answers without steps", formats=(("answer", 1.0),)),
        Recipe("alt-format", "clean reasoning in another surface format", formats=(("alt", 1.0),)),
        Recipe(
            "mixed-format",
            "30% evaluation format, 40% other format, 30% answers only",
            formats=(("gold", 0.3), ("alt", 0.4), ("answer", 0.3)),
        ),
        Recipe(
            "arith-heavy",
            "80% arithmetic traces, 10% each of the other two families",
            domains=(("arith", 8.0), ("list", 1.0), ("trace", 1.0)),
        ),
    )
}


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names = [n for n, _ in weighted]
    weights = [w for _, w in weighted]
    return rng.choices(names, weights=weights)[0]


def problem_documents(recipe: Recipe, seed: int) -> Iterator[str]:
    """The endless stream of problem documents of a recipe (rendered, possibly corrupted)."""
    rng = random.Random(f"docs:{seed}:{recipe.name}")
    streams = {f: problems.train_stream(f, seed) for f, _ in recipe.domains}
    while True:
        family = _pick(rng, recipe.domains)
        problem = next(streams[family])
        if recipe.corrupt > 0:
            problem = problems.corrupted(problem, recipe.corrupt, rng)
        yield problems.render(problem, _pick(rng, recipe.formats)) + PROBLEM_END


def build_corpus(
    recipe: Recipe, seed: int, tokenizer: Any, eos_id: int, tokens: int, seq_len: int
) -> np.ndarray:
    """The packed training rows of a recipe: int32 array ``[tokens // seq_len, seq_len]``.

    Problem and generic documents are generated until each reaches its token share, shuffled
    together, joined with EOS and cut into rows.
    """
    want_generic = round(tokens * recipe.generic)
    want_problems = tokens - want_generic
    pieces: list[list[int]] = []
    have = 0
    stream = problem_documents(recipe, seed)
    while have < want_problems:
        docs = list(itertools.islice(stream, 2048))
        for enc in tokenizer.encode_batch(docs):
            pieces.append([*enc.ids, eos_id])
            have += len(enc.ids) + 1
            if have >= want_problems:
                break
    train_docs, _, _ = generic.pool()
    rng = random.Random(f"generic:{seed}:{recipe.name}")
    start = rng.randrange(len(train_docs))
    have = 0
    i = 0
    while have < want_generic:
        chunk = [train_docs[(start + i + j) % len(train_docs)] for j in range(256)]
        i += 256
        for enc in tokenizer.encode_batch(chunk):
            pieces.append([*enc.ids, eos_id])
            have += len(enc.ids) + 1
            if have >= want_generic:
                break
    random.Random(f"order:{seed}:{recipe.name}").shuffle(pieces)
    flat = np.fromiter((t for p in pieces for t in p), dtype=np.int32)
    rows = len(flat) // seq_len
    return flat[: rows * seq_len].reshape(rows, seq_len)


def tokenizer_texts(seed: int, n_problems: int = 1500, generic_docs: int = 1500) -> list[str]:
    """The text a family's tokenizer is trained on: every format of every family, and prose."""
    texts: list[str] = []
    rng = random.Random(f"tokenizer:{seed}")
    for family in problems.FAMILIES:
        stream = problems.train_stream(family, seed, "tokenizer")
        for _ in range(n_problems):
            fmt = rng.choice(("gold", "gold", "alt", "answer"))
            texts.append(problems.render(next(stream), fmt) + PROBLEM_END)
    train_docs, _, _ = generic.pool()
    texts.extend(train_docs[:generic_docs])
    return texts
