"""Parsing the testbed families' solutions into steps, for RuDE's checkers and degraders.

A testbed solution is `` <step> <step> ...\\nAnswer: <answer>`` (``testbed.problems``); this
module cannot import the testbed (``signals`` sits below it), so it re-reads that surface format
from text alone. Checkers must judge *any* response (a model's generation later), so everything
here works on strings and never on a ``Problem``. Text that matches no step pattern (a filler
sentence) is not a step: it is ignored by the step checkers, which is what lets a degrader pad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One step per family; ``r`` is the step's written result. Arith: "<said>. a op k = r."
_STEP = {
    "arith": re.compile(
        r"(?P<said>[A-Z][^.\d=]*(?:\d+[^.\d=]*)?\.) "
        r"(?P<a>\d+) (?P<op>[-+*]) (?P<k>\d+) = (?P<r>\d+)\."
    ),
    "list": re.compile(
        r"(?P<op>reverse it|sort it|add (?P<k>\d+) to each|drop the first|drop the last): "
        r"(?P<r>\d+(?: \d+)*)\."
    ),
    "trace": re.compile(
        r"(?P<t>[a-z]) = (?:(?P<src>[a-z]) (?P<op>[-+*]) (?P<k>\d+) = (?P<a>\d+) (?P=op) (?P=k)"
        r" = )?(?P<r>\d+)\."
    ),
}
_ANSWER_LINE = re.compile(r"\nAnswer: (?P<value>[^\n]*?)\s*$")
_LAST_LINE_LABEL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z ]*:|The answer is)\s*")
TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class StepMatch:
    """One parsed step: its character span in the response and its named groups."""

    start: int
    end: int
    groups: dict[str, str | None]


def steps(family: str, response: str) -> list[StepMatch]:
    """The steps of a response in order (only the body: the last line is the answer line)."""
    body = response.rsplit("\n", 1)[0] if "\n" in response else response
    pattern = _STEP[family]
    return [StepMatch(m.start(), m.end(), m.groupdict()) for m in pattern.finditer(body)]


def answer_line(response: str) -> str | None:
    """The value of a final ``Answer:`` line, whitespace-normalised; None when there is none."""
    m = _ANSWER_LINE.search(response)
    return " ".join(m.group("value").split()) or None if m else None


def stated_answer(response: str) -> str | None:
    """The final answer a response states: its ``Answer:`` line, else its last line unlabelled.

    Lenient on the label on purpose: "the answer is right" and "the answer line is well formed"
    are separate criteria, so a response that says ``Result: 12`` still states 12.
    """
    value = answer_line(response)
    if value is not None or "\n" not in response:
        return value
    last = _LAST_LINE_LABEL.sub("", response.rsplit("\n", 1)[1]).strip().rstrip(".")
    return " ".join(last.split()) or None


def question(prompt: str) -> str:
    """The question of a testbed prompt (``Q: ...\\nA:``)."""
    return prompt.removeprefix("Q: ").removesuffix("\nA:").strip()


def expected_steps(family: str, prompt: str) -> int:
    """How many steps the question asks for, read from its text.

    >>> expected_steps("arith", "Q: Tom has 7 coins. He gets 2 more. She loses 1. How many?\\nA:")
    2
    >>> expected_steps("list", "Q: Take 1 2 3. Then reverse it, then sort it.\\nA:")
    2
    >>> expected_steps("trace", "Q: a = 3; b = a + 1; print(b)\\nA:")
    2
    """
    q = question(prompt)
    if family == "arith":
        return max(len(re.findall(r"[.?]", q)) - 2, 0)
    if family == "list":
        return q.count(", then ") + 1
    return q.count(";")


def start_list(prompt: str) -> list[int]:
    """The list a list-family question starts from (``Take 3 1 2. Then ...``)."""
    m = re.match(r"Take (\d+(?: \d+)*)\.", question(prompt))
    return [int(x) for x in m.group(1).split()] if m else []


def list_ops(prompt: str) -> list[str]:
    """The operations a list-family question asks for, in order.

    >>> list_ops("Q: Take 3 1 2. Then sort it, then add 1 to each.\\nA:")
    ['sort it', 'add 1 to each']
    """
    m = re.search(r"\. Then (.*)\.$", question(prompt))
    return m.group(1).split(", then ") if m else []


def list_input(prompt: str, found: list[StepMatch]) -> list[int]:
    """The list the first written step of a list-family response starts from.

    The question's list after the operations the question puts before that step. Which ones is
    read from the alignment of the written steps with the question's tail (steps are dropped from
    the front or middle, never the answer step), else from the first step's own operation: so a
    step done right on the right list is judged sound even when an earlier step is missing.
    """
    ops = list_ops(prompt)
    first = found[0].groups["op"] if found else None
    before = max(len(ops) - len(found), 0)
    if first in ops and (before >= len(ops) or ops[before] != first):
        before = ops.index(first)
    items = start_list(prompt)
    for op in ops[:before]:
        items = apply_list_op(op, items)
    return items


def apply_list_op(op: str, items: list[int]) -> list[int]:
    """The list-family operation ``op`` (as a step writes it) applied to ``items``."""
    if op == "reverse it":
        return items[::-1]
    if op == "sort it":
        return sorted(items)
    if op == "drop the first":
        return items[1:]
    if op == "drop the last":
        return items[:-1]
    k = int(op.split()[1])
    return [i + k for i in items]


def compute(a: int, op: str, k: int) -> int:
    """``a op k`` for the testbed's three operators."""
    return a + k if op == "+" else a - k if op == "-" else a * k


def count_tokens(text: str) -> int:
    """A tokenizer-free length proxy: words and punctuation marks (``\\w+|[^\\w\\s]``).

    The testbed's solutions are short words, digits and punctuation, each of which a subword
    tokenizer keeps as about one token, so this tracks a real count closely enough for the
    10% length rule; ``make_pairs`` takes any other ``count_tokens`` function instead.
    """
    return len(TOKEN.findall(text))
