"""``lmforecast demo``: the main job end to end on built-in data and models, no flags."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

from lmforecast import api
from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress
from lmforecast.report.rbridge import rbridge_compact
from lmforecast.report.rude import rude_renderables
from lmforecast.report.terminal import metrics_table, patel_renderables
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


@app.command()
def demo(
    limit: Annotated[int, typer.Option(min=1, help="gsm8k:gold requests per real model")] = 20,
    real: Annotated[bool, typer.Option(help="also compare the two real models")] = True,
) -> None:
    """The main job: build (or reuse) the `ci` testbed, compute proxies and ground truth, print
    the three forecasting settings with cost ratios, then rBridge beside Patel's proxies and
    RuDE against post-trained accuracy; then the two real models side by side."""
    with console.status("testbed ci: building or reusing") as status:
        api.build_testbed("ci", 0, progress=lambda *a: status.update(" ".join(map(str, a))[:100]))
    # Patel's three settings; then rBridge on the same problems (Patel's scores come back
    # from the store); then RuDE: do the base models that tell a rubric-compliant solution
    # from its degradation become the better models after post-training?
    sections: list[tuple[str, str, Callable[[dict[str, Any]], list[Any]], dict[str, Any]]] = [
        ("patel", "scoring the ci population", patel_renderables, {}),
        ("rbridge", "rBridge: frontier traces, scoring the ci population", rbridge_compact, {}),
        ("rude", "RuDE: pairs, scoring the final base models", _rude_compact,
         {"pairs_per_difficulty": 40}),
    ]  # fmt: skip
    for name, doing, render, options in sections:
        with console.status(doing) as status:
            result = api.experiment(
                name,
                progress=status.update,
                preset="ci",
                docs_per_task=48,
                workers=os.cpu_count() or 1,
                **options,
            )
        for renderable in render(result.to_dict()):
            console.print(renderable)
    if real:
        proxy_metrics_side_by_side(DEMO_MODELS, "gsm8k:gold", limit)
