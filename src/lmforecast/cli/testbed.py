"""``lmforecast testbed build|show``: build the model population and print its manifest."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lmforecast.cli.app import app, console
from lmforecast.cli.executor import ExecutorOption

testbed_app = typer.Typer(help="The testbed: small real models with known ground truth.")
app.add_typer(testbed_app, name="testbed")


@testbed_app.command("build")
def build_cmd(
    preset: str = typer.Option("ci", help="ci (about three minutes) or full (the real population)"),
    seed: int = typer.Option(0, help="another seed builds a different but equivalent population"),
    workers: int = typer.Option(0, min=0, help="worker processes (0: the preset's default)"),
    executor: ExecutorOption = "local",
) -> None:
    """Build a population (resumes where a killed build stopped)."""
    from lmforecast import api

    api.parse_executor_spec(executor)  # a bad --executor fails before anything runs
    from lmforecast.testbed.builder import ProgressEvent

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
    ) as bar:
        ids: dict[str, TaskID] = {}

        def report(e: ProgressEvent) -> None:
            if e.phase not in ids:
                ids[e.phase] = bar.add_task(e.phase, total=e.total, last="")
            bar.update(ids[e.phase], completed=e.done, total=e.total, last=e.message)

        root = api.build_testbed(preset, seed, report, workers or None, executor)
    console.print(f"testbed [bold]{preset}[/] (seed {seed}) is in {root}")


@testbed_app.command("show")
def show_cmd(
    preset: str = typer.Option("ci", help="which built population"),
    seed: int = typer.Option(0),
    family: str = typer.Option("", help="only this model family"),
    recipe: str = typer.Option("", help="only this corpus recipe"),
    stage: str = typer.Option("", help="base, sft or rl"),
    final_only: bool = typer.Option(False, "--final-only", help="only final checkpoints"),
    paths: bool = typer.Option(False, "--paths", help="show model directories"),
    frontier: bool = typer.Option(
        False, "--frontier", help="the frontier (rBridge's trace writer) instead of the population"
    ),
    summary: bool = typer.Option(
        False, "--summary", help="only the population summary (accuracy spread, CE vs accuracy)"
    ),
) -> None:
    """Print the manifest: one row per model with its ground truth."""
    from lmforecast.testbed import load_manifest

    df = load_manifest(preset, seed, role="frontier" if frontier else "population")
    if family:
        df = df[df["family"] == family]
    if recipe:
        df = df[df["recipe"] == recipe]
    if stage:
        df = df[df["stage"] == stage]
    if final_only:
        df = df[df["final"]]
    if summary:
        _print_summary(df)
        return
    what = "frontier" if frontier else "population"
    table = Table(title=f"testbed {preset} (seed {seed}) {what}: {len(df)} models")
    cols = ["model_id", "params", "tokens", "flops", "acc_arith", "acc_list", "acc_trace"]
    cols += ["pass1_arith", "pass1_list", "pass1_trace", "generic_bpb"] + (
        ["path"] if paths else []
    )
    for c in cols:
        left = c in ("model_id", "path")
        table.add_column(c, justify="left" if left else "right", no_wrap=c == "model_id")
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if c == "flops":
                cells.append(f"{v:.2e}")
            elif isinstance(v, float):
                cells.append("-" if v != v else f"{v:.3f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console.print(table)
    _print_summary(df)


def _print_summary(df: Any) -> None:
    if len(df):
        from lmforecast.testbed.manifest import population_summary

        console.print(population_summary(df))
