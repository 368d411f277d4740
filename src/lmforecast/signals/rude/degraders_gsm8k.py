"""GSM8K degraders: each breaks one criterion of ``rubrics/gsm8k.yaml`` by a local edit.

Edits keep the length naturally where they can (a number for a number, a four-token answer
lead for another); the one that removes text (a dropped step) puts back a sentence of the
question of about the same length, a restatement a real solution might make, rather than
filler words that would themselves be a cue. ``make_pairs`` verifies every result.
"""

from __future__ import annotations

import random
import re

from lmforecast.core.records import Doc
from lmforecast.signals.rude import arith
from lmforecast.signals.rude import checkers_gsm8k as g
from lmforecast.signals.rude.degraders import DEGRADERS, CannotDegrade
from lmforecast.signals.rude.steps import count_tokens

_OPERAND_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# Sentence ends, not after a title (``Mr. Tan``); the next sentence starts with a capital,
# a digit or ``$``.
_SENTENCE_END = re.compile(r"(?<!Mr)(?<!Mrs)(?<!Ms)(?<!Dr)(?<!St)[.!?]\s+(?=[A-Z$\d])")
# Four tokens each, like "So the answer is": the relabelled sentence keeps the length.
_OTHER_LEADS = ("So the total is", "Therefore, we get", "In total we get", "So the result is")


def _answer_equation(response: str, doc: Doc) -> g.Equation | None:
    """The last computation whose single-number result is the gold answer (None if none)."""
    gold = g.canonical(doc.answer or "")
    found = [e for e in g.equations(response) if e.single() and g.canonical(e.rhs) == gold]
    return found[-1] if found else None


def _rhs_span(response: str, eq: g.Equation) -> tuple[int, int]:
    start = response.index(eq.rhs, eq.rhs_start)
    return start, start + len(eq.rhs)


def _new_result(value: float, rhs: str, rng: random.Random) -> str:
    """A result 1–3 units of its last non-zero digit off ``value``, written like ``rhs``.

    ``12`` -> ``13``, ``25,000`` -> ``24,000``, ``2.5`` -> ``2.7``: a slip, not a new number.
    """
    written = g.to_number(rhs)
    decimals = len(written.split(".")[1]) if "." in written else 0
    zeros = 0 if decimals else len(written) - len(written.rstrip("0"))
    zeros = min(zeros, len(written) - 1)
    scale = 10.0**decimals / 10**zeros
    new = arith.nudge(round(value * scale), rng) / scale
    return arith.format_like(new, rhs.replace(" ", ""))


def _restate(text: str, gold: str, value: float) -> str:
    """``text`` with every number equal to ``gold`` (the answer restated) now ``value``."""

    def swap(m: re.Match[str]) -> str:
        return (
            arith.format_like(value, m.group(0)) if g.canonical(m.group(0)) == gold else m.group(0)
        )

    return re.sub(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?(?![\d])", swap, text)


@DEGRADERS.register("gsm8k.wrong_answer")
def wrong_answer(response: str, doc: Doc, rng: random.Random) -> str:
    """Misread one operand of the computation that gives the answer, compute on it correctly,
    and carry the new result to the end: a wrong answer with every computation still valid.

    The operand moves by 1–3 (a misread quantity or a carried slip); the result is recomputed
    and must be a whole number or have at most two decimals, as GSM8K answers do.
    """
    eq = _answer_equation(response, doc)
    if eq is None:
        raise CannotDegrade("no computation gives the gold answer")
    if "%" in eq.lhs:
        raise CannotDegrade("the answer's computation has a percentage")
    operands = list(_OPERAND_NUMBER.finditer(eq.lhs))
    rng.shuffle(operands)
    gold = g.canonical(doc.answer or "")
    for m in operands:
        if "." in m.group(0):
            continue
        old = int(g.to_number(m.group(0)))
        moved = arith.nudge(old, rng)
        if moved < 2 <= old:  # "/ 1", "* 0": no misreading looks like that
            continue
        new_operand = arith.format_like(moved, m.group(0))
        lhs = eq.lhs[: m.start()] + new_operand + eq.lhs[m.end() :]
        value = g.evaluate(lhs)
        if value is None or value < 0 or round(value, 2) != value:
            continue
        result = arith.format_like(value, eq.rhs.replace(" ", ""))
        if g.canonical(result) == gold:
            continue
        start, end = _rhs_span(response, eq)
        lhs_start = response.index(eq.lhs, eq.start)
        head = response[:lhs_start] + lhs + response[lhs_start + len(eq.lhs) : start]
        return head + result + _restate(response[end:], gold, value)
    raise CannotDegrade("no changed operand gives a whole new answer")


@DEGRADERS.register("gsm8k.wrong_step")
def wrong_step(response: str, doc: Doc, rng: random.Random) -> str:
    """Write one computation's result off by 1–3 (the rest, the answer included, unchanged):
    one slip of arithmetic that the following steps do not inherit."""
    found = [e for e in g.equations(response) if e.single() and g.evaluate(e.lhs) is not None]
    if not found:
        raise CannotDegrade("no computation with a one-number result")
    eq = rng.choice(found)
    start, end = _rhs_span(response, eq)
    return response[:start] + _new_result(float(g.to_number(eq.rhs)), eq.rhs, rng) + response[end:]


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of a text's sentences (ends at ``.!?`` + space + capital/digit/``$``)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.start() + 1))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def question(prompt: str) -> str:
    """The question being answered: the last ``Question:`` of the (few-shot) prompt."""
    return prompt.rsplit("Question:", 1)[-1].split("\nAnswer:")[0].strip()


@DEGRADERS.register("gsm8k.drop_step")
def drop_step(response: str, doc: Doc, rng: random.Random) -> str:
    """Drop one sentence with a computation (not the one giving the answer) and restate, in its
    place, the question's sentence closest to it in length: a skipped step, same length.

    The restated sentence is one the response does not already contain and is not the
    question's own ask (``How many ...?``).
    """
    answer_eq = _answer_equation(response, doc)
    keep_from = answer_eq.start if answer_eq is not None else len(response)
    eqs = g.equations(response)
    spans = sentences(response)[:-1]  # never the answer sentence
    droppable = [(s, e) for s, e in spans if e <= keep_from and any(s <= q.start < e for q in eqs)]
    if not droppable:
        raise CannotDegrade("no step with a computation besides the answer's")
    start, end = rng.choice(droppable)
    start += len(response[start:end]) - len(response[start:end].lstrip())
    given = [question(doc.prompt)[s:e].strip() for s, e in sentences(question(doc.prompt))]
    given = [x for x in given if not x.endswith("?") and x not in response and "=" not in x]
    if not given:
        raise CannotDegrade("no sentence of the question to restate")
    n = count_tokens(response[start:end])
    restated = min(given, key=lambda x: (abs(count_tokens(x) - n), x))
    return response[:start] + restated + response[end:]


@DEGRADERS.register("gsm8k.relabel_answer")
def relabel_answer(response: str, doc: Doc, rng: random.Random) -> str:
    """State the answer in another four-token sentence (``So the total is N.``): the number
    is still there and last, but not in the ``So the answer is N.`` form asked for."""
    found = list(g.ANSWER_SENTENCE.finditer(response))
    if not found:
        raise CannotDegrade("no 'So the answer is' sentence")
    m = found[-1]
    lead = rng.choice(_OTHER_LEADS)
    return response[: m.start()] + f"{lead} {m.group('value')}." + response[m.end() :]


@DEGRADERS.register("gsm8k.append_question")
def append_question(response: str, doc: Doc, rng: random.Random) -> str:
    """Go on past the answer to the next few-shot ``Question:`` (two tokens), as a base model
    that does not stop does."""
    return response.rstrip() + "\n\nQuestion:"
