"""The Python API: what users call from code and what every CLI command calls.

Each function assembles the pipeline once (task, model, configuration, store) and returns
plain results; nothing here prints. The CLI modules parse arguments, call one of these and
render what comes back (with :mod:`lmforecast.report`).

>>> import lmforecast.api as api
>>> "gsm8k:gold" in set(api.tasks_table()["name"])
True
>>> api.signals_table().set_index("name").loc["top5@freq", "higher_is_better"]
np.True_
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from lmforecast.api.base import ModelSpec, TaskSpec, elsewhere, load, task
from lmforecast.api.methods import (
    TESTBED_FRONTIER,
    frontier,
    make_traces,
    read_pairs_file,
    resolve_traces,
    rude_pairs,
    score_rude,
    score_with_traces,
    stored_trace_sets,
)
from lmforecast.api.plan import Plan, plan
from lmforecast.api.probes import ProbePrediction, ProbeTraining, predict_probe, train_probe
from lmforecast.core.errors import UserError
from lmforecast.engine import ScoreConfig
from lmforecast.engine.generate import GenerationConfig
from lmforecast.executors import Executor, ExecutorSpec, parse_executor_spec
from lmforecast.experiments import EXPERIMENTS
from lmforecast.forecast.tables import agreement_table
from lmforecast.signals import scored
from lmforecast.signals.base import all_signals
from lmforecast.signals.tokenstats import REQUEST_METRICS, TaskMetric, add_request_metrics
from lmforecast.signals.tokenstats import task_metrics as _task_metrics
from lmforecast.store import Store
from lmforecast.tasks import TASKS, get_task
from lmforecast.truth.importers import ImportResult, import_file
from lmforecast.truth.run import TruthProgress, TruthResult, run_truth

__all__ = [
    "TESTBED_FRONTIER",
    "ModelSpec",
    "Plan",
    "ProbePrediction",
    "ProbeTraining",
    "ScoreRun",
    "TaskSpec",
    "build_testbed",
    "experiment",
    "forecast",
    "frontier",
    "import_truth",
    "load",
    "make_traces",
    "parse_executor_spec",
    "plan",
    "predict_probe",
    "read_pairs_file",
    "read_table",
    "report",
    "resolve_traces",
    "rude_pairs",
    "score",
    "score_rude",
    "score_with_traces",
    "signals_table",
    "stored_scores",
    "stored_trace_sets",
    "task",
    "tasks_table",
    "train_probe",
    "truth",
]


@dataclass(frozen=True)
class ScoreRun:
    """A scored task: the stored per-request table with its request metrics, and the task
    metrics (mean over requests with 95% bootstrap intervals)."""

    scored: scored.ScoredTask
    table: pa.Table = field(repr=False)
    metrics: dict[str, TaskMetric]
    model_source: str
    num_requests: int


def score(
    model: ModelSpec,
    task_spec: TaskSpec,
    *,
    limit: int | None = None,
    config: ScoreConfig | None = None,
    store_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    executor: str | ExecutorSpec | Executor | None = None,
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
    device: Literal["auto", "cpu", "cuda"] = "auto",
    trust_remote_code: bool = False,
) -> ScoreRun:
    """Score a task's requests under a model: stored, resumable, keyed by fingerprints.

    ``executor`` (``"ray"``, ``"ray=HOST:6379,gpus=1"``, an :class:`Executor`): every missing
    unit (a shard of the task) runs there, loads the model itself (``model`` as a spec every
    worker can load, with ``dtype``/``device``) and writes its shard into the store, which must
    be on a filesystem every node shares. The stored results equal an in-process run's.
    """
    the_task = task(task_spec, limit)
    lm = load(model, dtype, device, trust_remote_code)
    store = Store(store_dir)
    where, owned = elsewhere(executor, model, lm, store, dtype, device, trust_remote_code)
    try:
        result = scored.score_task(
            lm, the_task, config or ScoreConfig(), store, progress, on_plan, where
        )
    finally:
        if owned is not None:
            owned.close()
    table = add_request_metrics(result.table)
    return ScoreRun(result, table, _task_metrics(table), lm.source, len(the_task.requests))


def stored_scores(
    store_dir: Path | None = None, model: str | None = None, task_name: str | None = None
) -> pd.DataFrame:
    """One row per stored (model, task) scoring entry: request count and per-task metrics."""
    store = Store(store_dir)
    rows = []
    for key, meta in sorted(
        store.entries(scored.KIND),
        key=lambda kv: (str(kv[1].get("task", "?")), str(kv[1].get("model", "?"))),
    ):
        if (model and meta.get("model") != model) or (task_name and meta.get("task") != task_name):
            continue
        data = store.read(scored.KIND, key)
        if data is None:
            continue
        data = add_request_metrics(data)
        row: dict[str, Any] = {
            "model": str(meta.get("model", "?")),  # a hand-edited meta.json may lack them
            "task": str(meta.get("task", "?")),
            "requests": data.num_rows,
            "expected_requests": meta.get("num_requests"),
        }
        for m in REQUEST_METRICS[1:]:
            row[m] = float(pa.compute.mean(data.column(m)).as_py())
        row["seconds"] = float(pa.compute.sum(data.column("cost_seconds")).as_py())
        row["key"] = key
        rows.append(row)
    return pd.DataFrame(rows)


def truth(
    model: ModelSpec,
    task_spec: TaskSpec,
    config: GenerationConfig,
    *,
    limit: int | None = None,
    store_dir: Path | None = None,
    progress: Callable[[TruthProgress], None] | None = None,
    executor: str | ExecutorSpec | Executor | None = None,
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
    device: Literal["auto", "cpu", "cuda"] = "auto",
) -> TruthResult:
    """Ground truth: generate, grade (code in the sandbox), aggregate with intervals, store.

    ``executor``: each missing shard of problems runs there (see :func:`score`)."""
    the_task = task(task_spec, limit)
    lm = load(model, dtype, device)
    store = Store(store_dir)
    where, owned = elsewhere(executor, model, lm, store, dtype, device, False)
    try:
        return run_truth(lm, the_task, config, store, progress, elsewhere=where)
    finally:
        if owned is not None:
            owned.close()


def import_truth(
    path: Path,
    format: Literal["auto", "lm-eval", "olmes", "csv"] = "auto",
    model: str | None = None,
    task_name: str | None = None,
    store_dir: Path | None = None,
) -> ImportResult:
    """Ground truth computed elsewhere (lm-eval, OLMES, CSV), imported into the store."""
    return import_file(path, format, model=model, task=task_name, store=Store(store_dir))


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A user's table (``.parquet``, ``.csv`` or ``.jsonl``), or a one-line error naming it."""
    if not path.is_file():
        raise UserError(f"--{what} {path}: file not found")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix == ".jsonl":
            return pd.read_json(path, lines=True)
    except Exception as e:
        raise UserError(f"--{what} {path}: cannot read ({type(e).__name__}: {e})") from None
    raise UserError(f"--{what} {path}: expected a .parquet, .csv or .jsonl file")


def forecast(signals: pd.DataFrame, truth_table: pd.DataFrame) -> pd.DataFrame:
    """Agreement of each signal column with the truth per task (see forecast.tables).

    A truth table with a ``metric`` column is split by metric (one block of rows each, never
    pooled); anything that would leave nothing to rank is a one-line error saying why.
    """
    for frame, what, needed in (
        (signals, "signals", ("model", "task")),
        (truth_table, "truth", ("model", "task", "value")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            have = ", ".join(map(str, frame.columns))
            raise UserError(f"--{what}: missing column(s) {', '.join(missing)} (have {have})")
    _check_signal_columns(signals)
    if not pd.api.types.is_numeric_dtype(truth_table["value"]):
        raise UserError("--truth: column 'value' must be numeric (an accuracy per model and task)")
    metrics = (
        sorted(map(str, truth_table["metric"].unique())) if "metric" in truth_table else [None]
    )
    tables = []
    for metric in metrics:
        truth = truth_table if metric is None else truth_table[truth_table["metric"] == metric]
        if truth.duplicated(["model", "task"]).any():
            raise UserError(
                "--truth: several values for one (model, task)"
                + ("" if metric is None else f" and metric {metric!r}")
                + "; add a 'metric' column or keep one value each"
            )
        joined = signals.merge(truth[["model", "task"]], on=["model", "task"])
        shared = joined.groupby("task")["model"].nunique()
        if shared.empty or shared.max() < 2:
            raise UserError(
                f"only {int(shared.max()) if not shared.empty else 0} model(s) of a task are in "
                "both --signals and --truth; ranking needs at least 2"
            )
        table = agreement_table(signals, truth)
        if metric is not None and not table.empty:
            table.insert(0, "metric", metric)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    if out.empty:
        raise UserError(
            "every signal, or the truth, is the same for all models of each task: nothing to rank"
        )
    return out


def _check_signal_columns(signals: pd.DataFrame) -> None:
    others = [c for c in signals.columns if c not in ("model", "task")]
    bad = [c for c in others if not pd.api.types.is_numeric_dtype(signals[c])]
    if bad:
        example = signals[bad[0]].dropna().astype(str).head(1).tolist()
        raise UserError(
            f"--signals: column(s) {', '.join(map(str, bad))} are not numeric"
            + (f" (e.g. {example[0]!r})" if example else "")
        )
    if not others:
        raise UserError("--signals: no signal column besides model and task")


def experiment(
    name: str,
    progress: Callable[[str], None] | None = None,
    store_dir: Path | None = None,
    **options: Any,
) -> Any:
    """Run a registered experiment (``patel``) with its config fields as keyword options."""
    exp = EXPERIMENTS.get(name)
    store = Store(store_dir) if store_dir is not None else None
    return exp.run(exp.config(**options), store=store, progress=progress)


def report(
    results: Sequence[Path | tuple[str, dict[str, Any]] | Any],
    output: Path,
    png_dir: Path | None = None,
) -> Any:
    """Write the self-contained HTML report of ``results`` to ``output`` (and, with ``png_dir``,
    every chart as PNG and SVG); returns a :class:`lmforecast.report.html.ReportInfo`.

    Each result is a JSON file's path, a ``(source name, to_dict())`` pair, or a result object
    (named after its experiment). Bad files are one-line :class:`UserError` naming the file."""
    import time

    from lmforecast.report.html import write_files
    from lmforecast.report.load import check_result, load_result

    start = time.perf_counter()
    files = []
    for r in results:
        if isinstance(r, Path | str):
            files.append(load_result(Path(r)))
        elif isinstance(r, tuple):
            files.append(check_result(r[1], r[0]))
        else:
            data = r.to_dict()
            files.append(check_result(data, f"{data['experiment']} (in memory)"))
    return write_files(files, output, png_dir, start)


def build_testbed(
    preset: str,
    seed: int = 0,
    progress: Any = None,
    workers: int | None = None,
    executor: str | ExecutorSpec | None = None,
) -> Path:
    """Build (or finish building) a testbed population; returns its directory.

    ``executor`` ``ray[=ADDRESS]``: corpora and training runs as Ray tasks (shared data home)."""
    from lmforecast.testbed.builder import build

    return build(preset, seed, progress, workers, executor)


def tasks_table() -> pd.DataFrame:
    """The registered tasks (the testbed's among them, as a plug-in)."""
    rows = []
    for name in TASKS.names():
        t = get_task(name)
        rows.append(
            {
                "name": name,
                "kind": t.kind,
                "docs": len(t.docs),
                "requests": len(t.requests),
                "grader": t.grader or "-",
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


def signals_table() -> pd.DataFrame:
    """The registered signals: name, family, orientation, needs and description."""
    return pd.DataFrame(
        [
            {
                "name": s.name,
                "family": s.family,
                "higher_is_better": s.higher_is_better,
                "needs": _needs(s.needs),
                "description": s.description,
            }
            for s in all_signals()
        ]
    )


def _needs(needs: Any) -> str:
    parts = ["token statistics"] if needs.token_statistics else []
    if needs.hidden_layers:
        parts.append(f"hidden states {list(needs.hidden_layers)}")
    if needs.token_weights:
        parts.append("token weights")
    return ", ".join(parts) or "-"
