"""Degraders: deterministic edits that make a response violate one rubric criterion.

A degrader is ``(response, doc, rng) -> response``, registered by name in :data:`DEGRADERS`. It
should break its own criterion and leave every other one intact (``pairs.make_pairs`` verifies
this on every pair with all checkers, so a degrader that over-reaches loses the pair, counted).
A degrader that cannot apply (a one-step solution has no step to drop) raises
:class:`CannotDegrade` with the reason, which the pair report counts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from lmforecast.core.records import Doc
from lmforecast.core.registry import Registry
from lmforecast.signals.rude import steps as st

Degrader = Callable[[str, Doc, random.Random], str]
DEGRADERS: Registry[Degrader] = Registry("rude degrader")

# Digit-free, '='-free, no ':' — no step pattern and no answer label can match it.
_FILLER = (
    "then",
    "we",
    "carry",
    "on",
    "with",
    "the",
    "next",
    "part",
    "of",
    "the",
    "work",
    "and",
    "keep",
    "going",
    "with",
    "it",
    "as",
    "planned",
)


class CannotDegrade(Exception):
    """This degrader cannot apply to this response; ``str(exc)`` is the reason.

    Not an error: ``make_pairs`` counts it in its report by reason.
    """


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _set_answer(response: str, value: str) -> str:
    """The response with the value of its last line (after any ``Label:``) replaced."""
    body, _, last = response.rpartition("\n")
    m = re.match(r"^(\s*[A-Za-z][A-Za-z ]*:\s*)", last)
    return f"{body}\n{m.group(1) if m else ''}{value}"


def _nudge(value: int, rng: random.Random) -> int:
    """A different non-negative number, off by 1–3."""
    options = [value + d for d in (-3, -2, -1, 1, 2, 3) if value + d >= 0]
    return rng.choice(options)


@DEGRADERS.register("relabel_answer")
def relabel_answer(response: str, doc: Doc, rng: random.Random) -> str:
    """Restate the answer without the ``Answer:`` prefix (``Result:``: same length)."""
    if "\nAnswer: " not in response:
        raise CannotDegrade("no Answer: line")
    i = response.rindex("\nAnswer: ")
    return _splice(response, i, i + len("\nAnswer: "), "\nResult: ")


def _answer_step(family: str, response: str, doc: Doc) -> st.StepMatch:
    found = st.steps(family, response)
    if not found:
        raise CannotDegrade("no parsable step")
    if family != "trace":
        return found[-1]
    m = re.search(r"print\((\w+)\)", doc.prompt)
    mine = [s for s in found if m and s.groups["t"] == m.group(1)]
    if not mine:
        raise CannotDegrade("no step assigns the printed variable")
    return mine[-1]


def _new_equation(s: st.StepMatch, rng: random.Random) -> tuple[str, str]:
    """(old, new) text of a step's equation with another operand and its true result."""
    g = s.groups
    a, op, k = int(g["a"] or 0), g["op"] or "+", int(g["k"] or 0)
    right = st.compute(a, op, k)
    ks = [x for x in range(1, 10) if st.compute(a, op, x) != right and st.compute(a, op, x) >= 0]
    if not ks:
        raise CannotDegrade("no other operand changes the answer step's result")
    k2 = rng.choice(ks)
    old = f"{op} {k} = {g['r']}." if "src" not in g else f"{op} {k} = {a} {op} {k} = {g['r']}."
    if "src" in g:
        new = f"{op} {k2} = {a} {op} {k2} = {st.compute(a, op, k2)}."
    else:
        new = f"{op} {k2} = {st.compute(a, op, k2)}."
    return old, new


def _wrong_numeric(family: str) -> Degrader:
    def degrade(response: str, doc: Doc, rng: random.Random) -> str:
        s = _answer_step(family, response, doc)
        text = response[s.start : s.end]
        if s.groups.get("op") is None:  # a bare assignment "a = 5."
            value = str(_nudge(int(s.groups["r"] or 0), rng))
            new = re.sub(r"= \d+\.$", f"= {value}.", text)
        else:
            old, repl = _new_equation(s, rng)
            new = text[: len(text) - len(old)] + repl
            value = repl.rsplit("= ", 1)[1].rstrip(".")
        return _set_answer(_splice(response, s.start, s.end, new), value)

    degrade.__doc__ = (
        f"Misapply the {family} answer step (another operand, arithmetic still right) and carry "
        "the wrong result into the answer line: wrong answer, every step locally valid."
    )
    return degrade


_LIST_OPS = (
    "reverse it",
    "sort it",
    "add 1 to each",
    "add 2 to each",
    "drop the first",
    "drop the last",
)


@DEGRADERS.register("list.wrong_answer")
def list_wrong_answer(response: str, doc: Doc, rng: random.Random) -> str:
    """Apply another operation in the last step (done right) and carry it into the answer."""
    found = st.steps("list", response)
    if not found:
        raise CannotDegrade("no parsable step")
    last = found[-1]
    before = (
        st.list_input(doc.prompt, found)
        if len(found) == 1
        else [int(x) for x in (found[-2].groups["r"] or "").split()]
    )
    right = [int(x) for x in (last.groups["r"] or "").split()]
    ops = list(_LIST_OPS)
    rng.shuffle(ops)
    # Same-shaped operations first (reverse/sort, add 1/add 2, drop first/last): the short list
    # solutions leave a 10% length budget of about one token.
    old = last.groups["op"] or ""
    ops.sort(key=lambda op: abs(st.count_tokens(op) - st.count_tokens(old)))
    for op in ops:
        out = st.apply_list_op(op, before)
        if out and out != right and len(out) == len(right):
            value = " ".join(map(str, out))
            response = _splice(response, last.start, last.end, f"{op}: {value}.")
            return _set_answer(response, value)
    raise CannotDegrade("no other operation changes the last list")


def _wrong_step(family: str) -> Degrader:
    def degrade(response: str, doc: Doc, rng: random.Random) -> str:
        found = st.steps(family, response)
        if family != "list":
            found = [s for s in found if s.groups.get("op") is not None]
        if not found:
            raise CannotDegrade("no step with a computation")
        s = rng.choice(found)
        text = response[s.start : s.end]
        numbers = (s.groups["r"] or "").split()
        i = rng.randrange(len(numbers))
        numbers[i] = str(_nudge(int(numbers[i]), rng))
        head = text[: len(text) - len(s.groups["r"] or "") - 1]
        return _splice(response, s.start, s.end, f"{head}{' '.join(numbers)}.")

    degrade.__doc__ = (
        f"Corrupt one {family} step's written result (off by 1–3); the answer line is kept, so "
        "the final answer stays right while that step no longer follows."
    )
    return degrade


def _drop_step(family: str) -> Degrader:
    def degrade(response: str, doc: Doc, rng: random.Random) -> str:
        found = st.steps(family, response)
        keep = _answer_step(family, response, doc)
        droppable = [s for s in found if s.start != keep.start]
        if not droppable:
            raise CannotDegrade("only the answer step: nothing to drop")
        s = rng.choice(droppable)
        n = st.count_tokens(response[s.start : s.end])
        words = _FILLER[: max(n - 1, 1)]
        filler = " ".join(words).capitalize() + "."
        return _splice(response, s.start, s.end, filler)

    degrade.__doc__ = (
        f"Drop one {family} step other than the answer step and pad with a digit-free sentence "
        "of the same token count, so a step is missing and length is no cue."
    )
    return degrade


for _family in ("arith", "trace"):
    DEGRADERS.register(f"{_family}.wrong_answer")(_wrong_numeric(_family))
for _family in ("arith", "list", "trace"):
    DEGRADERS.register(f"{_family}.wrong_step")(_wrong_step(_family))
    DEGRADERS.register(f"{_family}.drop_step")(_drop_step(_family))


# Real-benchmark domains register their degraders into DEGRADERS on import (after it exists).
from lmforecast.signals.rude import (  # noqa: E402, F401
    degraders_gsm8k,
    degraders_math500,
    degraders_mbpp,
)
