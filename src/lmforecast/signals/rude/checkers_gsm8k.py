"""GSM8K checkers: the final answer, the written arithmetic, the steps, the answer sentence.

The ``gsm8k:gold`` solutions are the reference solutions with their calculator annotations
removed and lines joined: `` Janet sells 16 - 3 - 4 = 9 duck eggs a day. ... So the answer is
18.`` Every check here reads the response text (and the doc's gold answer and expert solution)
only, so it judges a model's generation the same way it judges the expert's. An *equation* is a
written computation ``<number> <op> <number> ... = <number>`` (``$``, ``,`` and ``%`` allowed in
numbers); text that matches no equation (``1000 pieces / 4 = 250``) is not judged, which is what
keeps a correct solution with prose inside a computation from failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmforecast.core.records import Doc
from lmforecast.signals.rude import arith
from lmforecast.signals.rude.checkers import CHECKERS

_NUM = r"\$?\d[\d,]*(?:\.\d+)?%?"
_OPERAND = rf"\(*\s*{_NUM}\s*\)*"
_OP = r"[-+*/x×÷–]"
_EXPR = rf"{_OPERAND}(?:\s*{_OP}\s*{_OPERAND})*"
# The right side is looked ahead, not consumed, so in a chain ``30 - 8 * 3 = 30 - 24 = 6`` the
# next equation starts at its left side. A right side followed by a digit or a bracket is a
# mixed number or a product (``3 1 / 2``, ``1 / 2 (68)``): not judged.
EQUATION = re.compile(
    rf"(?P<lhs>{_OPERAND}(?:\s*{_OP}\s*{_OPERAND})+)"
    rf"(?=\s*=\s*(?P<rhs>-?\s?{_EXPR})(?![\d\w(]|\s+\d|\s*\())"
)
ANSWER_SENTENCE = re.compile(r"So the answer is (?P<value>-?\s?\$?\d[\d,]*(?:\.\d+)?)\.")
NUMBER = re.compile(r"-?\s?\$?\d[\d,]*(?:\.\d+)?")
SINGLE = re.compile(r"-?\s?\$?\d[\d,]*(?:\.\d+)?%?")
_QUESTION_LINE = re.compile(r"(?m)^\s*(?:Question|Q):")


@dataclass(frozen=True)
class Equation:
    """One written computation: where it starts, its two sides, where its right side starts."""

    start: int
    lhs: str
    rhs: str
    rhs_start: int

    def single(self) -> bool:
        """The written result is one number (``= 9``), not an expression (``= 2 / 5``)."""
        return SINGLE.fullmatch(self.rhs) is not None and not self.rhs.endswith("%")


def to_number(text: str) -> str:
    """A number's text without ``$``, ``,`` and spaces (``$1,200`` -> ``1200``)."""
    return re.sub(r"[$,\s]", "", text)


def canonical(text: str) -> str:
    """A number as the gold answer writes it: no ``$``/``,``, no trailing ``.0``.

    >>> canonical("$1,200.00")
    '1200'
    >>> canonical("- 5")
    '-5'
    """
    s = to_number(text).rstrip(".")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def evaluate(side: str, percent: str = "/100") -> float | None:
    """The value of one written side, or None if it is not plain arithmetic.

    ``x`` and ``×`` are multiplication, ``–`` (en dash) is minus, ``%`` is ``percent`` (hundredths
    by default, or nothing: ``100% - 80% = 20%`` is arithmetic on percentages), as GSM8K's
    solutions write them; :func:`arith.evaluate` does the rest, executing nothing.
    """
    expr = side.replace("×", "*").replace("÷", "/").replace("–", "-").replace("x", "*")
    return arith.evaluate(re.sub(r"[$,]", "", expr).replace("%", percent))


def equations(response: str) -> list[Equation]:
    """The written computations of a response, in order (see the module docstring).

    A left side right after an operator, a digit or a bracket is the tail of a longer one with
    words in it (``9 hours * 2 / 3 = 6``, ``$350 000 x 5 / 100``): not judged.
    """
    out = []
    for m in EQUATION.finditer(response):
        lhs, rhs = m.group("lhs"), m.group("rhs")
        before = response[: m.start()].rstrip()[-1:]
        if lhs.count("(") != lhs.count(")") or rhs.count("(") != rhs.count(")"):
            continue
        if before and (before.isdigit() or before in "-+*/x×÷–()$,.%"):
            continue
        out.append(Equation(m.start(), lhs.strip(), rhs.strip(), m.start("rhs")))
    return out


def holds(eq: Equation) -> bool:
    """Both sides have the same value, to the precision a single-number result is written in.

    ``10 / 3 = 3.33`` holds (two decimals written); ``9 * 2 = 19`` does not. ``%`` may read as
    hundredths or as a unit (either reading that holds will do); a side that does not evaluate
    is not judged (holds).
    """
    single = SINGLE.fullmatch(eq.rhs) is not None
    written = to_number(eq.rhs).rstrip("%")
    decimals = len(written.split(".")[1]) if single and "." in written else 0
    judged = False
    for percent in ("/100", ""):
        left, right = evaluate(eq.lhs, percent), evaluate(eq.rhs, percent)
        if left is None or right is None:
            continue
        judged = True
        tolerance = 0.5 * 10**-decimals if single else 1e-6 * max(1.0, abs(right))
        if abs(left - right) <= tolerance + 1e-9:
            return True
    return not judged


def stated_answer(response: str) -> str | None:
    """The final answer: the last ``So the answer is N.``, else the last number written.

    Lenient on the wording on purpose: "the answer is right" and "the answer sentence is well
    formed" are separate criteria, so ``Therefore, we get 18.`` still states 18.
    """
    found = list(ANSWER_SENTENCE.finditer(response))
    if found:
        return canonical(found[-1].group("value"))
    numbers = NUMBER.findall(_QUESTION_LINE.split(response)[0])
    return canonical(numbers[-1]) if numbers else None


@CHECKERS.register("gsm8k.answer_correct")
def answer_correct(response: str, doc: Doc) -> bool:
    """The stated final answer equals the gold answer (as numbers written canonically)."""
    got = stated_answer(response)
    return got is not None and doc.answer is not None and got == canonical(doc.answer)


@CHECKERS.register("gsm8k.arithmetic_valid")
def arithmetic_valid(response: str, doc: Doc) -> bool:
    """Every written computation ``a op b = c`` holds (see :func:`holds`)."""
    return all(holds(eq) for eq in equations(response))


@CHECKERS.register("gsm8k.steps_complete")
def steps_complete(response: str, doc: Doc) -> bool:
    """The response writes out at least as many computations as the expert solution does.

    A count, not a match: a response that splits the work differently but shows as much of it
    passes; one that skips a computation of a solution shaped like the expert's fails.
    """
    return len(equations(response)) >= len(equations(doc.solution or ""))


@CHECKERS.register("gsm8k.answer_sentence")
def answer_sentence(response: str, doc: Doc) -> bool:
    """The answer is stated once, in the few-shot prompt's form ``So the answer is N.``."""
    return len(ANSWER_SENTENCE.findall(response)) == 1


@CHECKERS.register("gsm8k.no_new_question")
def no_new_question(response: str, doc: Doc) -> bool:
    """The response answers this question only: no line starts a new ``Question:``.

    A base model continuing the few-shot pattern writes the next ``Question:``; that is out of
    scope for the answer even when everything before it is right.
    """
    return _QUESTION_LINE.search(response) is None
