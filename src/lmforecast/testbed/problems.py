"""Reasoning problems with verifiable answers and expert step-by-step solutions.

Three families, deliberately easy (numbers 0–10, 1–3 steps): measured here, a 0.1M-parameter
Llama trained on 1.6M tokens of a three-family mixture with numbers to 20 and 2–4 steps stayed
near 10% accuracy — the copy-from-question circuit had not formed — so difficulty is set where
the budget of a CPU-built population (about a million tokens per run) still spreads accuracy by
model size and corpus. Problems with more steps stay in the mix and remain hard:

* ``arith``: multi-step arithmetic word problems ("Tom has 7 apples. He buys 5 more. ...").
* ``list``: symbolic list manipulation (reverse, sort, add k to each, drop first/last).
* ``trace``: tracing a small straight-line program of assignments and printing a variable.

A :class:`Problem` holds the question, the steps (each with its true result) and the answer; the
*rendering* (evaluation format, alternative format, answer only, corrupted steps) is separate, so
corpus recipes can vary quality and format of the very same problems. Everything is drawn from a
``random.Random`` passed in, so a seed fixes every problem.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FAMILIES: tuple[str, ...] = ("arith", "list", "trace")

# Held-out problems come from this fixed seed, independent of the population seed: every
# population (any --seed) is evaluated on the same held-out set, and the tasks can be registered
# without building anything.
HELDOUT_SEED = 20_240_601
HELDOUT_SIZE = 500


@dataclass(frozen=True)
class Step:
    """One solution step: ``text`` is rendered with ``{r}`` standing for its result."""

    template: str
    result: str


@dataclass(frozen=True)
class Problem:
    """A problem of one family: question, steps with true results, and the final answer."""

    family: str
    question: str
    steps: tuple[Step, ...]
    answer: str
    answer_step: int = -1  # index of the step whose result is the answer


# -- the evaluation format (what the tasks ask and graders check) -------------------------------
def prompt_text(problem: Problem) -> str:
    """The prompt a model continues: the question, ending where the solution starts."""
    return f"Q: {problem.question}\nA:"


def solution_text(problem: Problem, steps: tuple[str, ...] | None = None) -> str:
    """The expert solution (continuation of the prompt): steps, then an ``Answer:`` line.

    Each step first restates the part of the question it works on, then computes. Copying the
    question clause by clause is what induction heads do early in training; without the
    restatement a model must point at "the k-th operation" of the question.
    """
    shown = (
        steps if steps is not None else tuple(s.template.format(r=s.result) for s in problem.steps)
    )
    return " " + " ".join(shown) + f"\nAnswer: {problem.answer}"


# -- problem generators -------------------------------------------------------------------------
# Every number a solution writes stays within 0.._MAX: the arithmetic facts a model must learn are
# few (about a hundred), so what separates models is copying and chaining, not memorisation.
_MAX = 10
_NAMES = ("Tom", "Ana", "Lee", "Mia", "Sam", "Eva", "Max", "Zoe", "Ben", "Ivy")
_THINGS = ("apples", "coins", "books", "stamps", "shells", "pens", "cards", "rocks")


def _arith(rng: random.Random) -> Problem:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    value = rng.randint(2, _MAX)
    sentences = [f"{name} has {value} {thing}."]
    steps: list[Step] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("add", "add", "sub", "sub", "mul"))
        if kind == "mul" and value > _MAX // 2:
            kind = "sub"
        if kind == "add" and value >= _MAX - 1:
            kind = "sub"
        if kind == "sub" and value < 2:
            kind = "add"
        if kind == "add":
            k = rng.randint(1, min(9, _MAX - value))
            said = rng.choice(("He gets {k} more.", "She finds {k} more.")).format(k=k)
            new = value + k
            steps.append(Step(f"{said} {value} + {k} = {{r}}.", str(new)))
        elif kind == "sub":
            k = rng.randint(1, min(9, value))
            said = rng.choice(("He gives away {k}.", "She loses {k}.")).format(k=k)
            new = value - k
            steps.append(Step(f"{said} {value} - {k} = {{r}}.", str(new)))
        else:
            said = "Then the amount doubles."
            new = value * 2
            steps.append(Step(f"{said} {value} * 2 = {{r}}.", str(new)))
        sentences.append(said)
        value = new
    sentences.append(f"How many {thing} now?")
    return Problem("arith", " ".join(sentences), tuple(steps), str(value))


def _fmt(items: list[int]) -> str:
    return " ".join(str(i) for i in items)


def _list(rng: random.Random) -> Problem:
    items = [rng.randint(0, 9) for _ in range(3)]
    start = _fmt(items)
    ops: list[str] = []
    steps: list[Step] = []
    for _ in range(rng.randint(1, 2)):
        kind = rng.choice(("reverse", "sort", "add", "drop first", "drop last"))
        if kind.startswith("drop") and len(items) <= 2:
            kind = "reverse"
        if kind == "reverse":
            items = items[::-1]
            op = "reverse it"
        elif kind == "sort":
            items = sorted(items)
            op = "sort it"
        elif kind == "add":
            k = rng.randint(1, 2)
            items = [i + k for i in items]
            op = f"add {k} to each"
        elif kind == "drop first":
            items = items[1:]
            op = "drop the first"
        else:
            items = items[:-1]
            op = "drop the last"
        ops.append(op)
        steps.append(Step(f"{op}: {{r}}.", _fmt(items)))
    question = f"Take {start}. Then " + ", then ".join(ops) + "."
    return Problem("list", question, tuple(steps), _fmt(items))


def _trace(rng: random.Random) -> Problem:
    names = ["a", "b", "c"]
    env: dict[str, int] = {}
    first = rng.choice(names)
    env[first] = rng.randint(1, _MAX)
    lines = [f"{first} = {env[first]}"]
    steps = [Step(f"{first} = {{r}}.", str(env[first]))]
    for _ in range(rng.randint(1, 3)):
        target = rng.choice(names)
        src = rng.choice(sorted(env))
        op = rng.choice(("+", "+", "-", "*"))
        v = env[src]
        if op == "*" and v > _MAX // 2:
            op = "-"
        if op == "+" and v >= _MAX - 1:
            op = "-"
        if op == "-" and v < 2:
            op = "+"
        if op == "*":
            k, new = 2, v * 2
        elif op == "+":
            k = rng.randint(1, min(9, _MAX - v))
            new = v + k
        else:
            k = rng.randint(1, min(9, v))
            new = v - k
        lines.append(f"{target} = {src} {op} {k}")
        steps.append(Step(f"{target} = {src} {op} {k} = {v} {op} {k} = {{r}}.", str(new)))
        env[target] = new
    shown = rng.choice(sorted(env))
    question = "; ".join(lines) + f"; print({shown})"
    last = max(i for i, s in enumerate(steps) if s.template.startswith(f"{shown} = "))
    return Problem("trace", question, tuple(steps), str(env[shown]), last)


GENERATORS: dict[str, Callable[[random.Random], Problem]] = {
    "arith": _arith,
    "list": _list,
    "trace": _trace,
}


def stream(family: str, rng: random.Random) -> Iterator[Problem]:
    """An endless stream of problems of one family."""
    gen = GENERATORS[family]
    while True:
        yield gen(rng)


def heldout(family: str, n: int = HELDOUT_SIZE) -> list[Problem]:
    """The held-out problems of a family: fixed seed, distinct questions."""
    rng = random.Random(f"{HELDOUT_SEED}:{family}")
    seen: set[str] = set()
    out: list[Problem] = []
    for p in stream(family, rng):
        if p.question not in seen:
            seen.add(p.question)
            out.append(p)
            if len(out) == n:
                break
    return out


def train_stream(family: str, seed: int, purpose: str = "pretrain") -> Iterator[Problem]:
    """Training problems of a family for a population seed, never a held-out question.

    ``purpose`` ("pretrain", "sft", "rl", "tokenizer") gives each use its own stream.
    """
    banned = {p.question for p in heldout(family)}
    rng = random.Random(f"train:{seed}:{purpose}:{family}")
    for p in stream(family, rng):
        if p.question not in banned:
            yield p


# -- renderings used by corpus recipes ----------------------------------------------------------
def _perturb(result: str, rng: random.Random) -> str:
    """A plausible wrong result: one number off by 1–3."""
    parts = result.split(" ")
    i = rng.randrange(len(parts))
    value = int(parts[i]) + rng.choice((-3, -2, -1, 1, 2, 3))
    parts[i] = str(abs(value))
    return " ".join(parts)


def distractors(problem: Problem, k: int, rng: random.Random) -> list[str]:
    """``k`` distinct plausible wrong answers (one number off by 1–3), for multiple choice."""
    out: list[str] = []
    for _ in range(100 * k):
        wrong = _perturb(problem.answer, rng)
        if wrong != problem.answer and wrong not in out:
            out.append(wrong)
            if len(out) == k:
                return out
    raise ValueError(f"cannot draw {k} distinct distractors for answer {problem.answer!r}")


def corrupted(problem: Problem, rate: float, rng: random.Random) -> Problem:
    """The problem with a share ``rate`` of its steps wrong (results off by a little).

    The wrong result is not carried into later steps' text: later steps keep their own
    (correct-looking) arithmetic, so a corrupted trace
    stays fluent, and is *locally* as predictable as a clean one — which is why such corpora give
    low solution NLL yet poor accuracy. The answer follows the (possibly wrong) step that made it.
    """
    steps = list(problem.steps)
    answer = problem.answer
    answer_step = problem.answer_step % len(steps)
    for i, s in enumerate(steps):
        if rng.random() < rate:
            wrong = _perturb(s.result, rng)
            steps[i] = Step(s.template, wrong)
            if i == answer_step:
                answer = wrong
    return Problem(problem.family, problem.question, tuple(steps), answer, problem.answer_step)


def render(problem: Problem, fmt: str) -> str:
    """A corpus document for a problem in one of the formats.

    ``gold``: the evaluation format (prompt + expert solution). ``answer``: the evaluation
    prompt followed directly by the answer line (no steps). ``alt``: the same reasoning in another
    surface format, which a model must transfer to the evaluation format.
    """
    if fmt == "gold":
        return prompt_text(problem) + solution_text(problem)
    if fmt == "answer":
        return prompt_text(problem) + f" Answer: {problem.answer}"
    if fmt == "alt":
        work = "; ".join(s.template.format(r=s.result).rstrip(".") for s in problem.steps)
        return f"Problem: {problem.question}\nWork: {work}\nResult = {problem.answer}"
    raise ValueError(f"unknown problem format {fmt!r}; known: gold, answer, alt")
