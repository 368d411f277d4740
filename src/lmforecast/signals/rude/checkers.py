"""Checkers: deterministic tests of whether a response satisfies one rubric criterion.

A checker is ``(response, doc) -> bool``, registered by name in :data:`CHECKERS`; a rubric names
it. Checkers read only the response text and the doc (prompt, gold answer), never the hidden
``Problem``, so the same function judges an expert solution, a degraded one and, later, a
model's generation. Family-specific checkers are registered as ``<family>.<name>``.
"""

from __future__ import annotations

from collections.abc import Callable

from lmforecast.core.records import Doc
from lmforecast.core.registry import Registry
from lmforecast.signals.rude import steps as st

Checker = Callable[[str, Doc], bool]
CHECKERS: Registry[Checker] = Registry("rude checker")


@CHECKERS.register("answer_correct")
def answer_correct(response: str, doc: Doc) -> bool:
    """The stated final answer equals the gold answer (whitespace-normalised).

    Same rule as the testbed grader on any response with an ``Answer:`` line; lenient on the
    label otherwise (see :func:`steps.stated_answer`), so format is a criterion of its own.
    """
    got = st.stated_answer(response)
    return got is not None and doc.answer is not None and got == " ".join(doc.answer.split())


@CHECKERS.register("answer_line")
def answer_line(response: str, doc: Doc) -> bool:
    """The response ends with one ``Answer: <value>`` line and has no other ``Answer:``."""
    return st.answer_line(response) is not None and response.count("Answer:") == 1


def _equations_valid(family: str, response: str) -> bool:
    """Every step's written equation holds (arith, trace); a bare assignment always holds."""
    for s in st.steps(family, response):
        g = s.groups
        if g.get("op") is None:
            continue
        a, op, k, r = int(g["a"] or 0), g["op"] or "+", int(g["k"] or 0), int(g["r"] or 0)
        if st.compute(a, op, k) != r:
            return False
    return True


@CHECKERS.register("arith.steps_valid")
def arith_steps_valid(response: str, doc: Doc) -> bool:
    """Each step's arithmetic is right: ``a op k = r`` holds as written."""
    return _equations_valid("arith", response)


@CHECKERS.register("trace.steps_valid")
def trace_steps_valid(response: str, doc: Doc) -> bool:
    """Each assignment's arithmetic is right: ``v op k = r`` holds as written."""
    return _equations_valid("trace", response)


@CHECKERS.register("list.steps_valid")
def list_steps_valid(response: str, doc: Doc) -> bool:
    """Each step's list is its stated operation applied to the list before it.

    "Before it" is the previous step's written list. A list step restates no input, so the
    first written step starts from the question's list after the operations the question puts
    before that step's own (found by its operation, else by how many steps are missing): a
    missing step is a completeness fault, not a logic one, and the next step done right on the
    right list is sound.
    """
    found = st.steps("list", response)
    items = st.list_input(doc.prompt, found)
    for s in found:
        written = [int(x) for x in (s.groups["r"] or "").split()]
        if st.apply_list_op(s.groups["op"] or "", items) != written:
            return False
        items = written
    return True


def _complete(family: str) -> Checker:
    def check(response: str, doc: Doc) -> bool:
        return len(st.steps(family, response)) == st.expected_steps(family, doc.prompt)

    check.__doc__ = f"Every {family} step the question asks for is written out (count of steps)."
    return check


for _family in ("arith", "list", "trace"):
    CHECKERS.register(f"{_family}.steps_complete")(_complete(_family))


# Real-benchmark domains register their checkers into CHECKERS on import (after it exists).
from lmforecast.signals.rude import (  # noqa: E402, F401
    checkers_gsm8k,
    checkers_math500,
    checkers_mbpp,
)
