"""``lmforecast demo``: the main job end to end on built-in data and models, no flags."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress
from lmforecast.report.patel import patel_renderables
from lmforecast.report.probes import probes_renderables
from lmforecast.report.rbridge import rbridge_compact
from lmforecast.report.rude import rude_renderables
from lmforecast.report.terminal import metrics_table
from lmforecast.signals.tokenstats import TaskMetric

DEMO_MODELS = ("smollm2-135m", "gemma3-270m")


def proxy_metrics_side_by_side(models: tuple[str, ...], task_name: str, limit: int) -> None:
    """Score each real model on the task and print the per-task proxy metrics side by side."""
    task = api.task(task_name, limit)
    columns: dict[str, dict[str, TaskMetric]] = {}
    for name in models:
        with console.status(f"loading {name}"):
            model = api.load(name)
        with rate_progress(f"{name} · {task.name}") as bar:
            run = api.score(model, task, progress=bar.advance, on_plan=bar.start)
        result = run.scored
        console.print(
            f"{name}: {model.source}; {result.seconds:.1f} s, {result.flops:.3g} FLOPs"
            + ("" if result.computed_units else " (reused from the store)")
        )
        columns[name] = run.metrics
        del model
    console.print(metrics_table(f"{task.name}, first {limit} requests", columns))


def _rude_compact(data: dict[str, Any]) -> list[Any]:
    return rude_renderables(data, compact=True)


def _probes_compact(data: dict[str, Any]) -> list[Any]:
    return probes_renderables(data, compact=True)


# The probes section on ci: the best llama-m run's two last checkpoints, 40 problems per task.
DEMO_PROBES = {
    "problems_per_task": 40,
    "max_runs": 1,
    "checkpoints": 2,
    "post_trained": False,
}


@app.command()
def demo(
    limit: Annotated[int, typer.Option(min=1, help="gsm8k:gold requests per real model")] = 20,
    real: Annotated[bool, typer.Option(help="also compare the two real models")] = True,
    report: Annotated[Path, typer.Option(help="where to write the demo's HTML report")] = Path(
        "demo-report.html"
    ),
) -> None:
    """The main job: build (or reuse) the `ci` testbed, compute proxies and ground truth, print
    the three forecasting settings with cost ratios, then rBridge beside Patel's proxies, RuDE
    against post-trained accuracy and probes against sampled pass@1; then the two real models
    side by side; then write the HTML report."""
    checks.output_file(report, (".html",), "--report")
    with console.status("testbed ci: building or reusing") as status:
        api.build_testbed("ci", 0, progress=lambda *a: status.update(" ".join(map(str, a))[:100]))
    # Patel's three settings; then rBridge on the same problems (Patel's scores come back
    # from the store); then RuDE: do the base models that tell a rubric-compliant solution
    # from its degradation become the better models after post-training? Then probes: does a
    # checkpoint's reading of a prompt say whether it will solve it?
    docs = {"docs_per_task": 48}
    sections: list[tuple[str, str, Callable[[dict[str, Any]], list[Any]], dict[str, Any]]] = [
        ("patel", "scoring the ci population", patel_renderables, docs),
        ("rbridge", "rBridge: frontier traces, scoring the ci population", rbridge_compact, docs),
        ("rude", "RuDE: pairs, scoring the final base models", _rude_compact,
         {**docs, "pairs_per_difficulty": 30}),
        ("probes", "probes: pass@1 labels, features, probes", _probes_compact, DEMO_PROBES),
    ]  # fmt: skip
    results = []
    for name, doing, render, options in sections:
        with console.status(doing) as status:
            result = api.experiment(
                name, progress=status.update, preset="ci", workers=os.cpu_count() or 1, **options
            )
        results.append(result)
        for renderable in render(result.to_dict()):
            console.print(renderable)
    if real:
        proxy_metrics_side_by_side(DEMO_MODELS, "gsm8k:gold", limit)
    info = api.report(results, report)
    console.print(
        f"report: {info.path.resolve()} ({info.bytes / 1e6:.1f} MB, {info.charts} charts, "
        f"{info.seconds:.1f} s; open it in a browser, it needs no network)"
    )
