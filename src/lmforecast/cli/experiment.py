"""``lmforecast experiment patel`` and ``lmforecast forecast``: the forecasting tables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.cli.executor import ExecutorOption
from lmforecast.cli.output import (
    RESULT_FORMATS,
    FormatOption,
    check_format,
    emit,
    emit_result,
    info,
)
from lmforecast.core.errors import UserError
from lmforecast.experiments.patel.config import DTYPES
from lmforecast.report.patel import patel_renderables
from lmforecast.report.probes import probes_renderables
from lmforecast.report.rbridge import rbridge_renderables
from lmforecast.report.rude import rude_renderables
from lmforecast.report.terminal import frame_table

ResultFormat = Annotated[
    str,
    typer.Option(
        "--format",
        help="table (headlines and compact tables) or json, markdown: the whole result on "
        "stdout, every table in full",
    ),
]

experiment_app = typer.Typer(help="End-to-end experiments on a testbed population.")
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("patel")
def patel(
    preset: Annotated[str, typer.Option(help="testbed preset (ci or full)")] = "full",
    seed: int = 0,
    docs_per_task: Annotated[
        int, typer.Option(min=1, help="expert solutions scored per task")
    ] = 100,
    build: Annotated[bool, typer.Option(help="build the testbed first if missing")] = True,
    output: Annotated[Path | None, typer.Option(help="write the tables as JSON here")] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="processes scoring models in parallel (0: one per core)")
    ] = 0,
    executor: ExecutorOption = "local",
    fmt: ResultFormat = "table",
    dtype: Annotated[
        str,
        typer.Option(help="weights when scoring: float32 (exact) or bfloat16 (approximate)"),
    ] = "float32",
) -> None:
    """Patel et al.'s three settings on a testbed population, with CIs and cost ratios."""
    if dtype not in DTYPES:  # before the testbed is built or anything loads
        raise UserError(f"--dtype {dtype!r}: expected {', '.join(DTYPES)}")
    _run_experiment(
        "patel", patel_renderables, preset, seed, docs_per_task, build, output, workers, fmt,
        dtype=dtype,
        executor=executor,
    )  # fmt: skip


@experiment_app.command("rbridge")
def rbridge(
    preset: Annotated[str, typer.Option(help="testbed preset (ci or full)")] = "full",
    seed: int = 0,
    docs_per_task: Annotated[
        int, typer.Option(min=1, help="problems per task the frontier writes traces for")
    ] = 100,
    build: Annotated[bool, typer.Option(help="build the testbed first if missing")] = True,
    output: Annotated[Path | None, typer.Option(help="write the tables as JSON here")] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="processes scoring models in parallel (0: one per core)")
    ] = 0,
    executor: ExecutorOption = "local",
    fmt: ResultFormat = "table",
) -> None:
    """rBridge on a testbed population: the frontier's traces, the bridge from the smallest
    to the largest size (base and SFT), corpus ranking beside Patel's proxies and direct
    evaluation, setting (a) with rBridge, and the cost."""
    _run_experiment(
        "rbridge", rbridge_renderables, preset, seed, docs_per_task, build, output, workers, fmt,
        executor=executor,
    )  # fmt: skip


@experiment_app.command("rude")
def rude(
    preset: Annotated[str, typer.Option(help="testbed preset (ci or full)")] = "full",
    seed: int = 0,
    pairs_per_difficulty: Annotated[
        int, typer.Option(min=1, help="pairs per domain and difficulty |V| = 1, 2, 3")
    ] = 100,
    docs_per_task: Annotated[
        int, typer.Option(min=1, help="expert solutions per task for Patel's proxies (baseline)")
    ] = 100,
    build: Annotated[bool, typer.Option(help="build the testbed first if missing")] = True,
    output: Annotated[Path | None, typer.Option(help="write the tables as JSON here")] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="processes scoring models in parallel (0: one per core)")
    ] = 0,
    executor: ExecutorOption = "local",
    fmt: ResultFormat = "table",
) -> None:
    """RuDE on a testbed population: pairs from the shipped rubrics, every final base model's
    discrimination, and its correlation with accuracy after SFT and after RL, beside the
    baselines, by 4C category and difficulty, with the upsets."""
    _run_experiment(
        "rude", rude_renderables, preset, seed, docs_per_task, build, output, workers, fmt,
        pairs_per_difficulty=pairs_per_difficulty, executor=executor,
    )  # fmt: skip


@experiment_app.command("probes")
def probes(
    preset: Annotated[str, typer.Option(help="testbed preset (ci or full)")] = "full",
    seed: int = 0,
    problems_per_task: Annotated[
        int, typer.Option(min=10, help="problems per task labelled with pass@1")
    ] = 200,
    n_samples: Annotated[int, typer.Option(min=1, help="samples per problem for pass@1")] = 8,
    max_runs: Annotated[int, typer.Option(min=1, help="runs of the largest size probed")] = 4,
    checkpoints: Annotated[
        int, typer.Option(min=0, help="last N base checkpoints of each run (0: all)")
    ] = 0,
    probe: Annotated[
        list[str] | None,
        typer.Option(help="probes on each run's final checkpoint (repeat; default: all four)"),
    ] = None,
    post_trained: Annotated[bool, typer.Option(help="also probe the SFT and RL models")] = True,
    build: Annotated[bool, typer.Option(help="build the testbed first if missing")] = True,
    output: Annotated[Path | None, typer.Option(help="write the tables as JSON here")] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="models labelled at once (0: one per CPU)")
    ] = 0,
    executor: ExecutorOption = "local",
    fmt: ResultFormat = "table",
) -> None:
    """In-training probes on a testbed population: pass@1 labels, prompt features, four probes
    and two baselines split by problem, transfer to later checkpoints, and latency."""
    check_format(fmt, RESULT_FORMATS)
    checks.output_file(output, (".json",))
    api.parse_executor_spec(executor)  # a bad --executor fails before anything runs
    probe_options: dict[str, Any] = {"probes": tuple(probe)} if probe else {}
    _ensure_testbed(preset, seed, build)
    with console.status("probes") as status:
        result = api.experiment(
            "probes",
            progress=lambda msg: status.update(msg),
            preset=preset,
            seed=seed,
            problems_per_task=problems_per_task,
            n_samples=n_samples,
            max_runs=max_runs,
            checkpoints=checkpoints,
            post_trained=post_trained,
            workers=workers if workers > 0 else (os.cpu_count() or 1),
            executor=executor,
            **probe_options,
        )
    _print_and_write(result.to_dict(), probes_renderables, output, fmt)


def _ensure_testbed(preset: str, seed: int, build: bool) -> None:
    """Build (or finish building) the testbed first, unless told not to."""
    if build:
        with console.status(f"testbed {preset}: building or reusing") as status:
            api.build_testbed(
                preset, seed, progress=lambda *a: status.update(" ".join(map(str, a))[:100])
            )


def _print_and_write(data: dict[str, Any], render: Any, output: Path | None, fmt: str) -> None:
    emit_result(fmt, data, render)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(data, indent=1, default=float))
        info(fmt).print(f"wrote {output}")


def _run_experiment(
    name: str,
    render: Any,
    preset: str,
    seed: int,
    docs_per_task: int,
    build: bool,
    output: Path | None,
    workers: int,
    fmt: str,
    **options: Any,
) -> None:
    check_format(fmt, RESULT_FORMATS)
    checks.output_file(output, (".json",))
    api.parse_executor_spec(options.get("executor"))  # fails before anything runs
    _ensure_testbed(preset, seed, build)
    with console.status("scoring") as status:
        result = api.experiment(
            name,
            progress=lambda msg: status.update(msg),
            preset=preset,
            seed=seed,
            docs_per_task=docs_per_task,
            workers=workers if workers > 0 else (os.cpu_count() or 1),
            **options,
        )
    _print_and_write(result.to_dict(), render, output, fmt)


@app.command()
def forecast(
    signals: Annotated[
        Path, typer.Option(help="table with columns model, task and signal columns")
    ],
    truth: Annotated[Path, typer.Option(help="table with columns model, task, value (accuracy)")],
    fmt: FormatOption = "table",
) -> None:
    """Agreement of each signal with ground truth across models, per task (with decision accuracy)
    and a leave-one-out linear fit from signal to accuracy."""
    check_format(fmt)
    table = api.forecast(api.read_table(signals, "signals"), api.read_table(truth, "truth"))
    if "metric" not in table:
        emit(fmt, table, lambda: [frame_table("signals vs ground truth", table)])
        return
    emit(
        fmt,
        table,
        lambda: [
            frame_table(f"signals vs ground truth: {metric}", rows.drop(columns="metric"))
            for metric, rows in table.groupby("metric", sort=False)
        ],
    )
