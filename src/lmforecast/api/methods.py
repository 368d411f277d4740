"""The API of the methods with inputs of their own: rBridge's frontier traces and RuDE's
pairs (making, reading, scoring). Re-exported by :mod:`lmforecast.api`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lmforecast.api.base import ModelSpec, TaskSpec, load, task
from lmforecast.core.errors import UserError
from lmforecast.engine import ScoreConfig
from lmforecast.signals.rbridge import Trace, read_traces
from lmforecast.signals.rbridge.library import TraceSet, auto_traces, ensure_traces, list_traces
from lmforecast.signals.rbridge.score import TraceRun, score_traces
from lmforecast.signals.rbridge.traces import write_traces
from lmforecast.signals.rude.pairs import Pair, PairReport, make_pairs, read_pairs, write_pairs
from lmforecast.signals.rude.rubric import load_rubric
from lmforecast.signals.rude.run import RudeRun, score_pairs
from lmforecast.signals.rude.score import Mode
from lmforecast.store import Store
from lmforecast.tasks import Task
from lmforecast.truth.graders import answer_reader

TESTBED_FRONTIER = "testbed-frontier"


def frontier(spec: str) -> str:
    """A frontier model spec: ``testbed-frontier[:PRESET]`` names the testbed's frontier (its
    SFT model; preset ``ci`` by default), anything else is a model spec as for :func:`load`."""
    name, _, preset = spec.partition(":")
    if name != TESTBED_FRONTIER:
        return spec
    from lmforecast import testbed

    return testbed.frontier_model(preset or "ci")[1]


def make_traces(
    frontier_spec: ModelSpec,
    task_spec: TaskSpec,
    *,
    limit: int | None = None,
    batch_size: int = 16,
    seed: int = 0,
    max_tokens: int | None = None,
    output: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TraceSet, list[Trace]]:
    """rBridge's traces: the frontier's greedy reasoning on each doc, the final-answer line
    stripped, with its per-token log-probabilities; stored (``--traces auto`` then finds them),
    read back if made before, and also written to ``output`` when given."""
    lm = load(frontier(frontier_spec) if isinstance(frontier_spec, str) else frontier_spec)
    the_task = task(task_spec, limit)
    made, traces = ensure_traces(
        lm,
        the_task,
        answer_of=answer_reader(the_task.grader),
        batch_size=batch_size,
        seed=seed,
        max_tokens=max_tokens,
        progress=progress,
    )
    if output is not None:
        write_traces(traces, output)
    return made, traces


def stored_trace_sets() -> list[tuple[TraceSet, bool]]:
    """Every stored trace set, each with whether ``--traces auto`` uses it."""
    return list_traces()


def resolve_traces(traces: Path | str, task_spec: TaskSpec) -> list[Trace]:
    """A traces file, or ``"auto"``: the traces last made for the task."""
    if str(traces) == "auto":
        name = task_spec.name if isinstance(task_spec, Task) else task_spec
        return auto_traces(name)[1]
    return read_traces(Path(traces))


def score_with_traces(
    model: ModelSpec,
    task_spec: TaskSpec,
    traces: Path | str | list[Trace],
    *,
    limit: int | None = None,
    separator: str = "",
    config: ScoreConfig | None = None,
    store_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> TraceRun:
    """rBridge: score frontier traces (a JSON-lines file, or :class:`Trace` s) as the
    continuations of a task's prompts, their per-character weights riding through the engine;
    returns the rBridge scores and plain NLL with 95% bootstrap intervals over traces.
    ``separator`` is put between each prompt and its trace, and weighs nothing."""
    whole = task(task_spec)
    the_task = task(whole, limit)
    trace_list = list(traces) if isinstance(traces, list) else resolve_traces(traces, whole)
    return score_traces(
        load(model),
        the_task,
        trace_list,
        known_doc_ids={d.doc_id for d in whole.docs},
        separator=separator,
        config=config,
        store=Store(store_dir),
        progress=progress,
        on_plan=on_plan,
    )


def rude_pairs(
    rubric: Path | str,
    task_spec: TaskSpec | None = None,
    *,
    difficulty: int = 1,
    n: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    output: Path | None = None,
) -> tuple[list[Pair], PairReport]:
    """RuDE pairs by controlled degradation of each doc's expert solution (a rubric file or a
    shipped rubric's name; the task defaults to the rubric's); written to ``output`` if given."""
    the_rubric = load_rubric(rubric)
    the_task = task(task_spec if task_spec is not None else the_rubric.task, limit)
    pairs, report = make_pairs(the_rubric, the_task.docs, difficulty, seed, n)
    if output is not None:
        write_pairs(pairs, output)
    return pairs, report


def read_pairs_file(path: Path) -> list[Pair]:
    """RuDE pairs from a file (one-line errors naming file, line and field)."""
    return read_pairs(path)


def score_rude(
    model: ModelSpec,
    pairs: Path | list[Pair],
    *,
    mode: Mode = "likelihood",
    rubric: Path | str | None = None,
    config: ScoreConfig | None = None,
    store_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> RudeRun:
    """RuDE: does the model prefer each pair's positive (``likelihood``: length-normalised
    log-likelihood; ``judge``: a 2-shot A/B prompt, both orders)? Stored and resumable."""
    the_pairs = read_pairs(pairs) if isinstance(pairs, Path) else list(pairs)
    if not the_pairs:
        raise UserError(f"{pairs}: no pairs to score")
    name = f"rude:{Path(pairs).stem}" if isinstance(pairs, Path) else "rude"
    return score_pairs(
        load(model),
        the_pairs,
        mode,
        rubric=load_rubric(rubric) if rubric is not None else None,
        name=name,
        config=config,
        store=Store(store_dir),
        progress=progress,
        on_plan=on_plan,
    )
