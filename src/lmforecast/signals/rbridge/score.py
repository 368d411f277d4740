"""Score frontier traces under a task's prompts: the weights ride with the requests.

Each trace becomes one request, ``context`` = its doc's prompt and ``continuation`` = the trace
text, carrying one weight per character (the frontier's probability). The engine scores the
requests in its one pass and maps the character weights onto the proxy's tokens, and the store
keys the result by the requests *and* their weights. The rBridge signals are then computed
from the stored table through the Signal contract, with 95% bootstrap intervals over traces.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from lmforecast.core.records import Request, Task
from lmforecast.engine import ScoreConfig
from lmforecast.models.base import LoadedModel
from lmforecast.signals import scored
from lmforecast.signals.base import TaskScores, get_signal
from lmforecast.signals.rbridge.family import SIGNAL_NAMES
from lmforecast.signals.rbridge.traces import Trace, TraceError
from lmforecast.signals.rbridge.weights import char_probabilities
from lmforecast.signals.tokenstats import TaskMetric, add_request_metrics, bootstrap_mean_ci
from lmforecast.store import Store


@dataclass(frozen=True)
class TraceTask:
    """A task's docs that have a trace, as weighted requests, and how many docs had none."""

    task: Task
    skipped_docs: int


def trace_task(
    task: Task,
    traces: Sequence[Trace],
    known_doc_ids: Collection[str] | None = None,
    separator: str = "",
) -> TraceTask:
    """Requests ``doc prompt + separator -> trace text`` with per-character weights, in the
    task's doc order.

    A trace for a doc_id the task does not know is an error naming it (``known_doc_ids``: the
    ids of the whole task when ``task`` is a ``--limit`` cut of it, whose other docs' traces are
    then left aside); docs without a trace are skipped and counted. ``separator`` ends the
    context (a trace from a JSON ``reasoning`` field starts without the space that follows
    "Answer:"); it is no part of the trace, so it weighs nothing, even where lm-eval's split
    moves a trailing space into the scored continuation.
    """
    known = set(known_doc_ids) if known_doc_ids is not None else {d.doc_id for d in task.docs}
    unknown = [t.doc_id for t in traces if t.doc_id not in known]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise TraceError(
            f"{len(unknown)} trace(s) name doc_ids that task {task.name} does not have: "
            f"{shown}{more}"
        )
    by_doc = {t.doc_id: t for t in traces}
    docs = tuple(d for d in task.docs if d.doc_id in by_doc)
    if not docs:
        raise TraceError(f"no doc of task {task.name} (as limited) has a trace")
    requests = tuple(
        Request(
            i,
            d.doc_id,
            d.prompt + separator,
            by_doc[d.doc_id].text,
            char_weights=char_probabilities(by_doc[d.doc_id].tokens),
        )
        for i, d in enumerate(docs)
    )
    weighted = Task(
        name=f"{task.name}+traces",
        kind="text",
        description=f"frontier reasoning traces under the prompts of {task.name}",
        docs=docs,
        requests=requests,
        source=task.source,
    )
    return TraceTask(weighted, len(task.docs) - len(docs))


@dataclass(frozen=True)
class TraceRun:
    """Scored traces: the stored table with the request metrics and one column per rBridge
    signal, and the task values (mean over traces) with 95% bootstrap intervals over traces."""

    scored: scored.ScoredTask
    table: pa.Table = field(repr=False)
    metrics: dict[str, TaskMetric]
    num_traces: int
    skipped_docs: int


def signal_values(table: pa.Table, vocab_size: int) -> dict[str, np.ndarray]:
    """Per-trace values of every rBridge signal, through the Signal contract."""
    scores = TaskScores(table, vocab_size)
    return {name: get_signal(name).request_values(scores) for name in SIGNAL_NAMES}


def score_traces(
    model: LoadedModel,
    task: Task,
    traces: Sequence[Trace],
    *,
    known_doc_ids: Collection[str] | None = None,
    separator: str = "",
    config: ScoreConfig | None = None,
    store: Store | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> TraceRun:
    """Score ``traces`` as continuations of ``task``'s prompts under ``model`` (stored,
    resumable) and compute the rBridge signals with bootstrap intervals over traces.

    The intervals resample per-trace values; for ``rbridge@task`` the task-wide MinMax is taken
    once over all traces, not again in every resample (a slightly narrow interval).
    """
    built = trace_task(task, traces, known_doc_ids, separator)
    result = scored.score_task(
        model, built.task, config or ScoreConfig(), store or Store(), progress, on_plan
    )
    values = signal_values(result.table, model.vocab_size)
    table = add_request_metrics(result.table)
    metrics = {}
    for name, v in values.items():
        table = table.append_column(name, pa.array(v, pa.float64()))
        _, lo, hi = bootstrap_mean_ci(v, confidence, resamples, seed)
        metrics[name] = TaskMetric(name, get_signal(name).task_value(v), lo, hi, int(v.size))
    return TraceRun(result, table, metrics, len(built.task.requests), built.skipped_docs)
