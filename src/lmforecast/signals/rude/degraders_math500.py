"""MATH-500 degraders: each breaks one criterion of ``rubrics/math500.yaml`` by a local edit.

A changed answer is a changed number, sign or choice letter (same length); a wrong equality is
one number off; an unboxed answer loses four tokens (``\\ boxed { }``), well inside 10% of a
MATH solution; a dropped step is one short enough to drop outright (no filler: MATH solutions
are long enough that most have one).
"""

from __future__ import annotations

import random
import re

from lmforecast.core.records import Doc
from lmforecast.signals.rude import arith
from lmforecast.signals.rude import checkers_math500 as m
from lmforecast.signals.rude.degraders import DEGRADERS, CannotDegrade
from lmforecast.signals.rude.steps import count_tokens

# The pairs' 10% length rule (``pairs.LENGTH_TOLERANCE``; pairs imports this module's registry,
# so the value is restated here rather than imported).
_LENGTH_TOLERANCE = 0.10
_INTEGER = re.compile(r"(?<![\d.])\d+(?![\d.])")
_CHOICE = re.compile(r"\(([A-E])\)")


def _answer_edits(content: str, rng: random.Random) -> list[str]:
    """Candidate wrong answers from a boxed answer, in a seeded order: one number moved by
    1–3, one binary ``+``/``-`` swapped, another choice letter."""
    out = []
    numbers = list(_INTEGER.finditer(content))
    rng.shuffle(numbers)
    for n in numbers:
        new = str(arith.nudge(int(n.group(0)), rng))
        out.append(content[: n.start()] + new + content[n.end() :])
    signs = [x for x in re.finditer(r"(?<=[\w}) ])\s*([+-])\s*(?=[\w\\({])", content)]
    for s in signs:
        swapped = "-" if s.group(1) == "+" else "+"
        out.append(content[: s.start(1)] + swapped + content[s.end(1) :])
    for c in _CHOICE.finditer(content):
        letter = rng.choice([x for x in "ABCDE" if x != c.group(1)])
        out.append(content[: c.start(1)] + letter + content[c.end(1) :])
    return out


@DEGRADERS.register("math500.wrong_answer")
def wrong_answer(response: str, doc: Doc, rng: random.Random) -> str:
    """Change the boxed answer: a number off by 1–3, a sign flipped or another choice letter.

    The derivation is left as it is, so the last step no longer gives the boxed value: a
    slip at the end. The new answer must differ from the gold one after normalisation.
    """
    found = m.boxes(response)
    if not found:
        raise CannotDegrade("no boxed answer")
    start, end = found[-1]
    content = response[start + len("\\boxed{") : end - 1]
    gold = m.normalise(doc.answer or "")
    for new in _answer_edits(content, rng):
        if m.normalise(new) != gold:
            return response[: start + len("\\boxed{")] + new + response[end - 1 :]
    raise CannotDegrade("no number, sign or choice letter in the boxed answer to change")


@DEGRADERS.register("math500.wrong_step")
def wrong_step(response: str, doc: Doc, rng: random.Random) -> str:
    """Move the whole-number result of one numeric equality (``3 \\times 4 = 12``) by 1–3."""
    found = [
        eq
        for eq in m.equalities(response)
        if _INTEGER.fullmatch(eq.right.strip().rstrip(".,$").strip()) and m.to_python(eq.left)
    ]
    found = [eq for eq in found if m.holds(eq) and m.to_python(eq.left) != m.to_python(eq.right)]
    if not found:
        raise CannotDegrade("no equality with a whole-number result")
    eq = rng.choice(found)
    n = next(re.compile(r"\d+").finditer(response, eq.start, eq.end))
    return response[: n.start()] + str(arith.nudge(int(n.group(0)), rng)) + response[n.end() :]


@DEGRADERS.register("math500.unbox")
def unbox(response: str, doc: Doc, rng: random.Random) -> str:
    """State the answer without ``\\boxed{}`` (every box opened, its content kept in place)."""
    found = m.boxes(response)
    if not found:
        raise CannotDegrade("no boxed answer")
    for start, end in reversed(found):
        inner = response[start + len("\\boxed{") : end - 1]
        response = response[:start] + inner + response[end:]
    return response


@DEGRADERS.register("math500.drop_step")
def drop_step(response: str, doc: Doc, rng: random.Random) -> str:
    """Drop one step with math (not the one with the answer) short enough to keep the length.

    "Short enough" is the 10% length rule of the pairs; longer steps are not dropped rather
    than padded, since padding text would be a cue of its own.
    """
    total = count_tokens(response)
    found = m.steps(response)[:-1]
    boxed = m.boxes(response)
    keep = boxed[-1][0] if boxed else len(response)
    short = [
        (s, e)
        for s, e in found
        if not s <= keep < e and count_tokens(response[s:e]) <= _LENGTH_TOLERANCE * total
    ]
    if not short:
        raise CannotDegrade("no step short enough to drop")
    s, e = rng.choice(short)
    rest = response[e:].lstrip(" ")
    if s == 0:  # the first step: keep the response's own leading space
        return response[: len(response) - len(response.lstrip())] + rest.lstrip()
    return response[:s] + rest


@DEGRADERS.register("math500.append_problem")
def append_problem(response: str, doc: Doc, rng: random.Random) -> str:
    """Go on past the solution to the next few-shot ``Problem:`` (two tokens), as a base
    model that does not stop does."""
    return response.rstrip() + "\n\nProblem:"
