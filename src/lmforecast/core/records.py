"""What a task is: documents (problems) and the scoring requests built from them.

A *request* is the unit the scoring engine sees: log p(continuation | context). A *doc* is the
unit ground truth sees: a problem with a prompt to generate from, a gold answer to grade against
and, for gold-solution variants, an expert-written solution (the continuation of its request).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

TaskKind = Literal["gold", "rc", "mc", "text"]


@dataclass(frozen=True)
class Request:
    """One scoring request; ``index`` is its position in the task's request list.

    ``char_weights``, when given, holds one weight per character of ``continuation`` (rBridge's
    frontier confidences). They ride with the request through the engine's one pass, which
    turns them into one weight per scored token (the mean over the token's characters), so a
    weighted signal needs no second tokenisation. A tuple keeps the record hashable.
    """

    index: int
    doc_id: str
    context: str
    continuation: str
    choice: int | None = None  # multiple-choice tasks: which choice this request scores
    char_weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Doc:
    """One problem of a task, as ground truth and per-example analyses need it."""

    doc_id: str
    prompt: str
    solution: str | None = None  # expert solution (the gold continuation), if the task has one
    answer: str | None = None  # gold final answer, in the task's own format
    choices: tuple[str, ...] = ()
    label: int | None = None  # index of the correct choice, for multiple-choice tasks
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class GenerationSpec:
    """How to generate an answer to a doc's prompt: where to stop and how long at most."""

    stop: tuple[str, ...] = ()
    max_tokens: int = 256


@dataclass(frozen=True)
class Task:
    """A named, fully loaded task. Built by a factory in the task registry.

    ``grader`` names an entry of the grader registry (the Truth layer); ``None`` means the task
    has no verifiable answers (it can be scored, not graded).
    """

    name: str
    kind: TaskKind
    description: str
    docs: tuple[Doc, ...]
    requests: tuple[Request, ...]
    generation: GenerationSpec | None = None
    grader: str | None = None
    source: str = ""

    def limited(self, limit: int | None) -> Task:
        """The first ``limit`` docs and their requests (all choices of each kept doc)."""
        if limit is None or limit >= len(self.docs):
            return self
        if limit < 0:
            raise ValueError("limit must be non-negative")
        keep = {d.doc_id for d in self.docs[:limit]}
        kept = [r for r in self.requests if r.doc_id in keep]
        # Re-index so a limited task's requests are 0..n-1, in the same order as the full task.
        requests = tuple(replace(r, index=i) for i, r in enumerate(kept))
        return Task(
            name=self.name,
            kind=self.kind,
            description=self.description,
            docs=self.docs[:limit],
            requests=requests,
            generation=self.generation,
            grader=self.grader,
            source=self.source,
        )
