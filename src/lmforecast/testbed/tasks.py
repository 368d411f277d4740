"""The testbed's tasks, registered like any benchmark.

``testbed-arith:gold``, ``testbed-list:gold``, ``testbed-trace:gold`` (held-out problems with
expert solutions, graded by the ``testbed`` grader), their multiple-choice variants
``testbed-<family>:rc`` (the same problems, the answer chosen by log-likelihood among the gold
answer and three near misses: the multiple-choice baseline of the forecasts) and
``testbed-generic:text`` (held-out generic prose, for the cross-entropy baseline).

The held-out problems come from a fixed seed, so the tasks exist before any population is built
and every population (whatever its ``--seed``) is evaluated on the same problems. This module
imports only the task base types, the task and grader registries (which import nothing of
``lmforecast.tasks`` beyond ``base``), so ``lmforecast.tasks`` can import it.
"""

from __future__ import annotations

import random
import re

from lmforecast.core.records import Doc, GenerationSpec, Request, Task
from lmforecast.tasks.registry import TASKS
from lmforecast.testbed import generic, problems
from lmforecast.truth.graders import GRADERS, GradeResult

PROBLEM_TASKS: dict[str, str] = {f: f"testbed-{f}:gold" for f in problems.FAMILIES}
CHOICE_TASKS: dict[str, str] = {f: f"testbed-{f}:rc" for f in problems.FAMILIES}
N_CHOICES = 4
GENERIC_TASK = "testbed-generic:text"
STOP = ("\n\n",)
# Longest held-out expert solution is 82 (arith), 51 (list), 63 (trace) tokens with the smallest
# (384) vocabulary; the limits leave room for a model that writes a little more than the expert.
MAX_TOKENS = {"arith": 96, "list": 64, "trace": 80}
GRADER = "testbed"

_ANSWER = re.compile(r"Answer:[ \t]*([^\n]*)")


def extract_answer(completion: str) -> str | None:
    """The first ``Answer:`` line of a completion, whitespace-normalised.

    >>> extract_answer(" 7 + 5 = 12.\\nAnswer: 12 \\n\\nQ: next")
    '12'
    >>> extract_answer("no answer") is None
    True
    """
    m = _ANSWER.search(completion)
    if m is None:
        return None
    return " ".join(m.group(1).split()) or None


def is_correct(answer: str | None, completion: str) -> tuple[bool, str | None]:
    """(correct, extracted answer): exact match of the first answer line with the gold answer."""
    got = extract_answer(completion)
    return (got is not None and answer is not None and got == " ".join(answer.split())), got


def grade(doc: Doc, completion: str) -> GradeResult:
    """The ``testbed`` grader: the first ``Answer:`` line must equal the gold answer."""
    correct, got = is_correct(doc.answer, completion)
    return GradeResult(correct, got)


def problem_task(family: str, n: int = problems.HELDOUT_SIZE) -> Task:
    """The held-out problems of a family as a gold-solution task."""
    docs: list[Doc] = []
    requests: list[Request] = []
    for i, p in enumerate(problems.heldout(family, n)):
        doc = Doc(
            doc_id=f"{family}-{i:04d}",
            prompt=problems.prompt_text(p),
            solution=problems.solution_text(p),
            answer=p.answer,
            extra={"family": family, "n_steps": len(p.steps)},
        )
        docs.append(doc)
        requests.append(Request(i, doc.doc_id, doc.prompt, doc.solution or ""))
    return Task(
        name=PROBLEM_TASKS[family],
        kind="gold",
        description=f"testbed {family} problems: held-out, with expert step-by-step solutions",
        docs=tuple(docs),
        requests=tuple(requests),
        generation=GenerationSpec(stop=STOP, max_tokens=MAX_TOKENS[family]),
        grader=GRADER,
        source="lmforecast.testbed.problems (fixed held-out seed)",
    )


def choice_task(family: str, n: int = problems.HELDOUT_SIZE) -> Task:
    """The held-out problems of a family as a ranked-classification (rc) multiple-choice task.

    Each problem's prompt is continued by `` Answer: <choice>`` (the answer-only surface of the
    corpora) for the gold answer and three near misses, in an order drawn from a fixed seed; the
    choice with the highest log-likelihood is the model's pick (``acc``, and per character /
    byte as in lm-eval / OLMES). As with ARC or MMLU in rc form, no reasoning is written out.
    """
    rng = random.Random(f"{problems.HELDOUT_SEED}:choices:{family}")
    docs: list[Doc] = []
    requests: list[Request] = []
    for i, p in enumerate(problems.heldout(family, n)):
        options = [p.answer, *problems.distractors(p, N_CHOICES - 1, rng)]
        rng.shuffle(options)
        doc = Doc(
            doc_id=f"{family}-{i:04d}",
            prompt=problems.prompt_text(p),
            answer=p.answer,
            choices=tuple(options),
            label=options.index(p.answer),
            extra={"family": family, "n_steps": len(p.steps)},
        )
        docs.append(doc)
        for k, option in enumerate(options):
            requests.append(Request(len(requests), doc.doc_id, doc.prompt, f" Answer: {option}", k))
    return Task(
        name=CHOICE_TASKS[family],
        kind="rc",
        description=f"testbed {family} problems as 4-way multiple choice (answer only)",
        docs=tuple(docs),
        requests=tuple(requests),
        grader="multiple_choice",
        source="lmforecast.testbed.problems (fixed held-out seed)",
    )


def generic_task(n: int = 200) -> Task:
    """Held-out generic text: empty context, the passage as continuation."""
    docs = [
        Doc(doc_id=f"generic-{i:04d}", prompt="", solution=text)
        for i, text in enumerate(generic.heldout_chunks(n))
    ]
    requests = [Request(i, d.doc_id, "", d.solution or "") for i, d in enumerate(docs)]
    return Task(
        name=GENERIC_TASK,
        kind="text",
        description="held-out generic prose (site-packages docstrings) for the CE baseline",
        docs=tuple(docs),
        requests=tuple(requests),
        source="lmforecast.testbed.generic",
    )


def _register() -> None:
    if GRADER not in GRADERS:
        GRADERS.register(GRADER)(grade)
    for family, name in PROBLEM_TASKS.items():
        if name not in TASKS:
            TASKS.register(name)(lambda f=family: problem_task(f))
    for family, name in CHOICE_TASKS.items():
        if name not in TASKS:
            TASKS.register(name)(lambda f=family: choice_task(f))
    if GENERIC_TASK not in TASKS:
        TASKS.register(GENERIC_TASK)(generic_task)


_register()
