"""``lmforecast score``, ``show`` and ``tasks``: score a task's requests and look at the results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.cli.executor import ExecutorOption
from lmforecast.cli.output import FormatOption, check_format, emit, info
from lmforecast.cli.progress import rate_progress
from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import write_json_lines
from lmforecast.engine import ScoreConfig
from lmforecast.executors import ExecutorSpec
from lmforecast.models import LoadedModel
from lmforecast.report.formats import MACHINE
from lmforecast.report.terminal import (
    frame_table,
    metrics_frame,
    metrics_table,
    signals_table,
    tasks_table,
)
from lmforecast.signals.rbridge import Trace
from lmforecast.signals.tokenstats import REQUEST_METRICS
from lmforecast.tasks import Task

OUTPUT_COLUMNS = [
    "request_index",
    "doc_id",
    "logprob",
    "num_tokens",
    "num_bytes",
    "truncated",
    "is_greedy",
    *[m for m in REQUEST_METRICS if m != "logprob"],
]


def write_output(table: pa.Table, path: Path, per_token: bool, extra: Sequence[str] = ()) -> None:
    """Write one row per request to ``.parquet`` or ``.jsonl`` (per-token lists on request;
    ``extra``: more per-request columns, such as signal values)."""
    columns = [*OUTPUT_COLUMNS, *extra]
    if per_token:
        columns += [c for c in table.column_names if c.startswith(("tok_", "hidden_"))]
    out = table.select(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(out, path)
    elif path.suffix == ".jsonl":
        write_json_lines(path, out.to_pylist(), ensure_ascii=True)
    else:
        raise UserError(f"--output {path}: expected a .parquet or .jsonl file name")


@app.command()
def score(
    model: Annotated[str, typer.Option(help="alias, .gguf file, model directory or hub id")],
    task: Annotated[
        str | None,
        typer.Option(help="task name (see `lmforecast tasks`) or a .jsonl (not with --pairs)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="first N docs only")] = None,
    output: Annotated[
        Path | None, typer.Option(help="write per-request rows (.parquet/.jsonl)")
    ] = None,
    per_token: Annotated[bool, typer.Option(help="also write per-token lists to --output")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    prefix_sharing: Annotated[bool, typer.Option(help="reuse shared prefixes' KV cache")] = True,
    truncate: Annotated[
        str, typer.Option(help="request longer than the window: 'error' or 'left'")
    ] = "error",
    dtype: Annotated[str, typer.Option(help="auto|float32|bfloat16")] = "auto",
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
    trust_remote_code: bool = False,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
    traces: Annotated[
        str | None,
        typer.Option(
            help="frontier reasoning traces (.jsonl, see README), or 'auto' for the traces "
            "last made for the task (`lmforecast traces make`): score rBridge"
        ),
    ] = None,
    signals: Annotated[
        str,
        typer.Option(
            help="'tokens' (per-token statistics and the request metrics), 'rbridge' "
            "(frontier traces: --traces, default auto) or 'rude' (contrastive pairs: --pairs)"
        ),
    ] = "tokens",
    pairs: Annotated[
        Path | None, typer.Option(help="RuDE pairs (.jsonl from `lmforecast rude pairs`)")
    ] = None,
    mode: Annotated[
        str,
        typer.Option(help="RuDE: 'likelihood' (length-normalised) or 'judge' (A/B, both orders)"),
    ] = "likelihood",
    rubric: Annotated[
        str | None, typer.Option(help="RuDE: the pairs' rubric, for the 4C-category breakdown")
    ] = None,
    trace_separator: Annotated[
        str, typer.Option(help="text between each prompt and its trace (weighs nothing)")
    ] = "",
    executor: ExecutorOption = "local",
    fmt: FormatOption = "table",
) -> None:
    """Score a task's requests: per-token statistics, stored and resumable.

    With --traces, score each doc's frontier trace after its prompt instead, weighted by the
    frontier's confidence (rBridge), and print the rBridge scores and plain NLL."""
    check_format(fmt)
    trunc = _check_options(signals, pairs, mode, truncate, dtype, output, store_dir)
    spec = _check_executor(executor, signals, traces)
    if signals == "rbridge" and traces is None:
        traces = "auto"
    config = ScoreConfig(batch_size=batch_size, prefix_sharing=prefix_sharing, truncate=trunc)
    if pairs is not None:
        api.read_pairs_file(pairs)  # a bad pairs file fails before the model loads
        lm = _load(model, dtype, device, trust_remote_code)
        return _score_rude(lm, model, pairs, mode, rubric, config, store_dir, output, fmt)
    if task is None:
        raise UserError("--task is required (except with --signals rude --pairs FILE)")
    the_task = api.task(task, limit)
    # Traces are read before any compute: a bad file fails fast.
    trace_list = api.resolve_traces(traces, task) if traces is not None else None
    where = (store_dir, output, per_token, fmt)
    if spec.kind != "local":  # each worker loads the model itself
        remote = (spec, dtype, device, trust_remote_code)
        return _score_tokens(model, model, the_task, config, *where, remote)
    lm = _load(model, dtype, device, trust_remote_code)
    if trace_list is not None:
        return _score_traces(lm, model, task, trace_list, limit, trace_separator, config, *where)
    _score_tokens(lm, model, the_task, config, *where)


def _load(model: str, dtype: str, device: str, trust_remote_code: bool) -> LoadedModel:
    with console.status(f"loading {model}"):
        return api.load(model, dtype, device, trust_remote_code)  # type: ignore[arg-type]


def _check_executor(executor: str, signals: str, traces: str | None) -> ExecutorSpec:
    spec = api.parse_executor_spec(executor)
    if spec.kind != "local" and (signals != "tokens" or traces is not None):
        raise UserError(f"--executor {executor}: only for --signals tokens (not rbridge or rude)")
    return spec


def _check_options(
    signals: str,
    pairs: Path | None,
    mode: str,
    truncate: str,
    dtype: str,
    output: Path | None,
    store_dir: Path | None,
) -> Literal["error", "left"]:
    """One-line errors for options that do not go together, before anything loads."""
    if signals not in ("tokens", "rbridge", "rude"):
        raise UserError(f"--signals {signals!r}: expected 'tokens', 'rbridge' or 'rude'")
    if (signals == "rude") != (pairs is not None):
        raise UserError("--signals rude and --pairs FILE go together")
    if mode not in ("likelihood", "judge"):
        raise UserError(f"--mode {mode!r}: expected 'likelihood' or 'judge'")
    if truncate not in ("error", "left"):
        raise UserError(f"--truncate {truncate!r}: expected 'error' or 'left'")
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise UserError(f"--dtype {dtype!r}: expected auto, float32, bfloat16 or float16")
    checks.output_file(output, (".parquet", ".jsonl"))
    if store_dir is not None:
        checks.writable_directory(store_dir, "--store-dir")
    return "left" if truncate == "left" else "error"


def _score_tokens(
    lm: LoadedModel | str,
    model: str,
    the_task: Task,
    config: ScoreConfig,
    store_dir: Path | None,
    output: Path | None,
    per_token: bool,
    fmt: str,
    remote: tuple[Any, ...] | None = None,
) -> None:
    """``remote``: (executor spec, dtype, device, trust_remote_code); ``lm`` is then the spec
    the workers load."""
    where: dict[str, Any] = {}
    if remote is not None:
        where = dict(zip(("executor", "dtype", "device", "trust_remote_code"), remote, strict=True))
    with rate_progress(f"{model} · {the_task.name}") as bar:
        run = api.score(
            lm,
            the_task,
            config=config,
            store_dir=store_dir,
            progress=bar.advance,
            on_plan=bar.start,
            **where,
        )
    result = run.scored
    info(fmt).print(
        f"{run.num_requests} requests · {run.model_source} · "
        f"{result.computed_units}/{result.total_units} units computed · "
        f"{result.seconds:.1f} s · {result.flops:.3g} FLOPs · key {result.key}"
    )
    columns = {model: run.metrics}
    frame = metrics_frame(columns).assign(task=the_task.name)
    emit(fmt, frame, lambda: [metrics_table(f"{the_task.name}", columns)])
    if output is not None:
        write_output(run.table, output, per_token)
        info(fmt).print(f"wrote {run.table.num_rows} rows to {output}")


def _score_traces(
    lm: LoadedModel,
    model: str,
    task: str,
    trace_list: list[Trace],
    limit: int | None,
    separator: str,
    config: ScoreConfig,
    store_dir: Path | None,
    output: Path | None,
    per_token: bool,
    fmt: str,
) -> None:
    with rate_progress(f"{model} · {task} · traces") as bar:
        run = api.score_with_traces(
            lm,
            task,
            trace_list,
            limit=limit,
            separator=separator,
            config=config,
            store_dir=store_dir,
            progress=bar.advance,
            on_plan=bar.start,
        )
    result = run.scored
    traces = f"{run.num_traces} trace{'' if run.num_traces == 1 else 's'}"
    skipped = f"{run.skipped_docs} doc{'' if run.skipped_docs == 1 else 's'}"
    info(fmt).print(
        f"{traces} · {skipped} without a trace skipped · "
        f"{lm.source} · {result.computed_units}/{result.total_units} units computed · "
        f"{result.seconds:.1f} s · {result.flops:.3g} FLOPs · key {result.key}"
    )
    title = f"{result.task_name} · rBridge (mean over traces, 95% bootstrap CI)"
    columns, names = {model: run.metrics}, list(run.metrics)
    frame = metrics_frame(columns, names).assign(task=result.task_name)
    emit(fmt, frame, lambda: [metrics_table(title, columns, names)])
    if output is not None:
        write_output(run.table, output, per_token, list(run.metrics))
        info(fmt).print(f"wrote {run.table.num_rows} rows to {output}")


def _score_rude(
    lm: LoadedModel,
    model: str,
    pairs: Path,
    mode: str,
    rubric: str | None,
    config: ScoreConfig,
    store_dir: Path | None,
    output: Path | None,
    fmt: str,
) -> None:
    judge: Literal["likelihood", "judge"] = "judge" if mode == "judge" else "likelihood"
    with rate_progress(f"{model} · {pairs.name} · RuDE {mode}") as bar:
        run = api.score_rude(
            lm,
            pairs,
            mode=judge,
            rubric=rubric,
            config=config,
            store_dir=store_dir,
            progress=bar.advance,
            on_plan=bar.start,
        )
    result = run.scored
    what = "strict accuracy (both orders)" if judge == "judge" else "accuracy"
    info(fmt).print(
        f"{len(run.outcomes.correct)} pairs · RuDE {mode} {what} {run.accuracy:.3f} · "
        f"{result.computed_units}/{result.total_units} units computed · "
        f"{result.seconds:.1f} s · {result.flops:.3g} FLOPs · key {result.key}"
    )
    title = f"RuDE {mode}: prefers the positive (95% CI over pairs)"
    emit(fmt, run.breakdown, lambda: [frame_table(title, run.breakdown)])
    if output is not None:
        write_output(run.table, output, False)
        info(fmt).print(f"wrote {run.table.num_rows} rows to {output}")


@app.command()
def show(
    model: Annotated[
        str | None, typer.Option(help="only this model (as named when scored)")
    ] = None,
    task: Annotated[str | None, typer.Option(help="only this task")] = None,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
    fmt: FormatOption = "table",
) -> None:
    """Print stored scoring results: one row per (model, task) with the per-task metrics."""
    check_format(fmt)
    frame = api.stored_scores(store_dir, model, task)
    if frame.empty:
        root = store_dir or "the data home's store"
        info(fmt).print(
            f"no stored scores in {root}" + (" matching the filters" if model or task else "")
        )
        if fmt in MACHINE:
            emit(fmt, frame, list)
        return
    incomplete = frame["requests"] != frame["expected_requests"]
    shown = frame.assign(
        requests=[
            f"{n}" + (f"/{e}" if bad else "")
            for n, e, bad in zip(
                frame["requests"], frame["expected_requests"], incomplete, strict=True
            )
        ]
    ).drop(columns=["expected_requests"])
    emit(fmt, frame, lambda: [frame_table("stored scores", shown, floats="{:.4g}")])


@app.command()
def tasks(fmt: FormatOption = "table") -> None:
    """List the registered tasks."""
    check_format(fmt)
    table = api.tasks_table()
    emit(fmt, table, lambda: [tasks_table(table)])


@app.command()
def signals(fmt: FormatOption = "table") -> None:
    """List the registered signals: name, family, orientation, what each needs."""
    check_format(fmt)
    table = api.signals_table()
    emit(fmt, table, lambda: [signals_table(table)])
