"""The grader registry: a grader is ``(doc, completion) -> GradeResult``, registered by name.

A task names its grader (``Task.grader``); users add their own with ``@register_grader("name")``.
Built-ins, one module per family: ``gsm8k`` (final number), ``math`` (Minerva/Hendrycks MATH
answer equivalence), ``multiple_choice`` (:func:`~lmforecast.truth.graders.choice.grade_choice`
holds the log-likelihood argmax rules), ``humaneval`` and ``mbpp`` (the program and its tests
run in the sandbox) and ``exact`` (normalised string match). The testbed registers its own
``testbed`` grader as a plug-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmforecast.core.records import Doc
from lmforecast.core.registry import Registry


@dataclass(frozen=True)
class GradeResult:
    """Whether a completion is correct, and the answer the grader read from it."""

    correct: bool
    extracted: str | None
    detail: str | None = None  # e.g. the last line of a failing program's stderr


Grader = Callable[[Doc, str], GradeResult]
GRADERS: Registry[Grader] = Registry("grader", packages=("lmforecast.truth.graders",))


def register_grader(name: str) -> Callable[[Grader], Grader]:
    """Register a grader function under ``name`` (usable by users for their own tasks)."""
    return GRADERS.register(name)


def get_grader(name: str) -> Grader:
    return GRADERS.get(name)


def answer_reader(name: str | None) -> Callable[[Doc, str], str | None] | None:
    """The final answer grader ``name`` reads from a completion (``None`` if it reads none);
    ``None`` for a task without a grader. rBridge's traces use it to tell bad format."""
    if name is None:
        return None
    grade = get_grader(name)
    return lambda doc, completion: grade(doc, completion).extracted
