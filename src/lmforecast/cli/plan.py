"""``lmforecast plan``: what a sweep will cost, each signal against the direct evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from lmforecast.api.plan import Plan
from lmforecast.api.plan import plan as plan_sweep
from lmforecast.cli.app import app
from lmforecast.cli.output import FormatOption, check_format, emit, info
from lmforecast.forecast.planning import DEVICES, SIGNAL_FAMILIES
from lmforecast.report.formats import MACHINE
from lmforecast.report.terminal import frame_table


@app.command("plan")
def plan_cmd(
    models: Annotated[str, typer.Option(help="model sizes, comma-separated: 135m,1.5b,7b")],
    tasks: Annotated[
        str,
        typer.Option(help="tasks, comma-separated: gsm8k:gold,arc_easy:rc (`lmforecast tasks`)"),
    ],
    checkpoints: Annotated[int, typer.Option(min=1, help="checkpoints per model size")] = 1,
    signals: Annotated[
        str, typer.Option(help=f"signal families, comma-separated: {','.join(SIGNAL_FAMILIES)}")
    ] = ",".join(SIGNAL_FAMILIES),
    samples: Annotated[
        int, typer.Option(min=1, help="answers the direct evaluation samples per problem")
    ] = 1,
    gpu: Annotated[
        str | None,
        typer.Option(help=f"time on a declared device ({', '.join(DEVICES)}): peak x stated MFU"),
    ] = None,
    flops_per_second: Annotated[
        float | None, typer.Option(help="time at this FLOP/s per worker instead")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "--gpus", min=1, help="devices working in parallel")
    ] = 1,
    bytes_per_token: Annotated[
        float | None,
        typer.Option(help="turn task text into tokens (default: as measured, else 4)"),
    ] = None,
    require_measured: Annotated[
        bool, typer.Option(help="fail rather than use an assumed throughput")
    ] = False,
    detail: Annotated[bool, typer.Option(help="one row per signal, model size and task")] = False,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
    fmt: FormatOption = "table",
) -> None:
    """FLOPs, GPU-hours and wall time of each signal and of the direct evaluation it replaces,
    for a sweep of model sizes x checkpoints x tasks, from the costs measured in the store.

    Each figure says where it comes from: measured (a stored entry at that size),
    extrapolated (scaled by parameters or tokens from a stored entry at another size),
    estimated (from the task's text), declared (--gpu, --flops-per-second) or assumed.
    """
    check_format(fmt)
    result = plan_sweep(
        _split(models),
        _split(tasks),
        _split(signals),
        checkpoints=checkpoints,
        samples=samples,
        gpu=gpu,
        flops_per_second=flops_per_second,
        workers=workers,
        bytes_per_token=bytes_per_token,
        require_measured=require_measured,
        store_dir=store_dir,
    )
    frame = result.rows if detail else result.summary
    shown = _shown(result, detail)
    wrap = ["FLOPs from", "time from"] if detail else ["source"]
    emit(fmt, frame, lambda: [frame_table(_title(result, checkpoints), shown, wrap=wrap)])
    out = info(fmt)
    for note in result.notes:
        out.print(note, soft_wrap=True, markup=False, highlight=False)
    if fmt not in MACHINE:
        out.print(f"time: {result.device}; wall time on {result.workers} worker(s)", markup=False)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _title(result: Plan, checkpoints: int) -> str:
    sizes = ", ".join(dict.fromkeys(result.rows["model"])) if not result.rows.empty else "-"
    return f"sweep cost: {sizes} x {checkpoints} checkpoint(s)"


def _shown(result: Plan, detail: bool) -> pd.DataFrame:
    """Figures as people read them: FLOPs in e-notation, hours and wall time in units."""
    if detail:
        f = result.rows
        return pd.DataFrame(
            {
                "signal": f["signal"],
                "task": f["task"],
                "model": f["model"],
                "FLOPs": f["flops"].map("{:.3g}".format),
                "GPU-hours": (f["seconds"] / 3600).map("{:.3g}".format),
                "FLOPs from": f["flops_from"],
                "time from": f["time_from"],
            }
        )
    f = result.summary
    return pd.DataFrame(
        {
            "model": f["model"],
            "signal": f["signal"],
            "FLOPs": f["flops"].map("{:.3g}".format),
            "GPU-hours": f["device_hours"].map("{:.3g}".format),
            "wall": f["wall_hours"].map(duration),
            "vs direct": f["flops_ratio"].map(lambda r: "-" if pd.isna(r) else f"{r:.2g}"),
            "source": [source(a, b) for a, b in zip(f["flops_from"], f["time_from"], strict=True)],
        }
    )


def source(flops_from: str, time_from: str) -> str:
    """One cell for both: ``extrapolated from 135M`` when they agree, else each named.

    >>> source("measured", "measured at 135M")
    'measured at 135M'
    >>> source("extrapolated from 135M", "extrapolated from 135M")
    'extrapolated from 135M'
    >>> source("estimated (text)", "declared")
    'FLOPs estimated (text); time declared'
    """
    if time_from.startswith(flops_from):
        return time_from
    if flops_from.startswith("measured") and time_from.startswith("measured"):
        return time_from
    return f"FLOPs {flops_from}; time {time_from}"


def duration(hours: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``, ``9.1 d``, ``2.3 y``.

    >>> duration(0.01), duration(0.2), duration(3.4), duration(220), duration(20000)
    ('36 s', '12 min', '3.4 h', '9.17 d', '2.28 y')
    """
    if hours < 1 / 60:
        return f"{hours * 3600:.2g} s"
    if hours < 1:
        return f"{hours * 60:.2g} min"
    if hours < 48:
        return f"{hours:.2g} h"
    if hours < 365 * 24:
        return f"{hours / 24:.3g} d"
    return f"{hours / 24 / 365:.3g} y"
